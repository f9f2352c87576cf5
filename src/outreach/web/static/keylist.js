// Keyboard lists, shared by the drafts review queue and the inbox: j and k move the selection
// between a page's items, and every other key a page names acts on the selected item. Keys typed
// into a field are the field's, and a click on an item selects it. After htmx swaps an item
// that held the selection, the item now in its place is selected again.
(function () {
  "use strict";

  function typing(target) {
    return (
      target &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].indexOf(target.tagName) !== -1)
    );
  }

  // options.items: the CSS selector of the items; options.first: of the item to select first
  // (else the first item); options.keys: {key: function (selectedItem)}; options.typing:
  // function (event), for keys typed in a field (optional).
  window.keyList = function (options) {
    var nextIndex = null;

    function items() {
      return Array.prototype.slice.call(document.querySelectorAll(options.items));
    }

    function selected() {
      return document.querySelector(options.items + ".selected");
    }

    function select(item) {
      if (!item) {
        return;
      }
      items().forEach(function (other) {
        other.classList.remove("selected");
      });
      item.classList.add("selected");
      item.focus({ preventScroll: true });
      item.scrollIntoView({ block: "nearest" });
    }

    function move(step) {
      var list = items();
      var at = list.indexOf(selected());
      if (at === -1) {
        select(list[0]);
        return;
      }
      select(list[Math.min(Math.max(at + step, 0), list.length - 1)]);
    }

    // Select the item at this one's place again once it has been swapped.
    function keepPlace(item) {
      nextIndex = items().indexOf(item);
    }

    function reselect() {
      if (nextIndex === null || selected()) {
        return;
      }
      var list = items();
      var at = Math.min(nextIndex, list.length - 1);
      nextIndex = null;
      if (at >= 0) {
        select(list[at]);
      }
    }

    var keys = Object.assign(
      {
        j: function () {
          move(1);
        },
        k: function () {
          move(-1);
        },
      },
      options.keys
    );

    document.addEventListener("click", function (event) {
      var item = event.target.closest && event.target.closest(options.items);
      if (item && !event.target.closest("[data-action]") && !typing(event.target)) {
        select(item);
      }
    });

    document.addEventListener("keydown", function (event) {
      if (typing(event.target)) {
        if (options.typing) {
          options.typing(event);
        }
        return;
      }
      var action = keys[event.key];
      if (event.ctrlKey || event.metaKey || event.altKey || !action) {
        return;
      }
      action(selected());
      event.preventDefault();
    });

    document.addEventListener("htmx:afterSwap", reselect);
    document.addEventListener("htmx:afterSettle", reselect);

    function start() {
      if (!selected()) {
        select((options.first && document.querySelector(options.first)) || items()[0]);
      }
    }

    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
    return { items: items, select: select, keepPlace: keepPlace };
  };

  // The button or link in `item` marked data-action="<action>", clicked; false when none.
  window.keyList.click = function (item, action) {
    var target = item && item.querySelector('[data-action="' + action + '"]');
    if (target) {
      target.click();
    }
    return Boolean(target);
  };

  // Go where the first link of `item` leads, with `fragment` (say "#answer-body") when given.
  window.keyList.follow = function (item, fragment) {
    var link = item && item.querySelector("a[href]");
    if (link) {
      window.location.href = link.getAttribute("href") + (fragment || "");
    }
  };
})();
