// The daily charts of the home and Analytics pages, drawn with uPlot from the JSON the page
// embeds (<script type="application/json">) beside the table that holds the same numbers. Each
// chart is as wide as its card and redrawn when the card changes width (a phone turned, a
// window resized). Days are UTC days, so the axis is written in UTC.
(function () {
  "use strict";

  var LINES = [
    { key: "sent", label: "Sent", stroke: "#2f5bea" },
    { key: "replied", label: "Replies", stroke: "#067647" },
    { key: "bounced", label: "Bounces", stroke: "#b42318" },
  ];
  var HEIGHT = 240;

  function seconds(day) {
    return Date.parse(day + "T00:00:00Z") / 1000;
  }

  function draw(holder) {
    var source = document.getElementById(holder.getAttribute("data-chart"));
    if (!source || typeof uPlot === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var columns = [data.days.map(seconds)].concat(
      LINES.map(function (line) {
        return data[line.key];
      })
    );
    var options = {
      width: Math.max(holder.clientWidth, 200),
      height: HEIGHT,
      tzDate: function (ts) {
        return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
      },
      scales: { y: { range: function (u, min, max) { return [0, Math.max(max, 1)]; } } },
      series: [{ label: "Day" }].concat(
        LINES.map(function (line) {
          return { label: line.label, stroke: line.stroke, width: 2 };
        })
      ),
      axes: [{}, { values: function (u, ticks) { return ticks.map(function (t) { return Number.isInteger(t) ? t : ""; }); } }],
    };
    var chart = new uPlot(options, columns, holder);
    new ResizeObserver(function () {
      chart.setSize({ width: Math.max(holder.clientWidth, 200), height: HEIGHT });
    }).observe(holder);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
