// The inbox from the keyboard (through keylist.js). In the list: j/k move between
// conversations, o opens one, r opens it to reply, c to choose its category, e marks it done.
// In a conversation: j/k move between its messages, r goes to the answer, c to the category,
// e marks it done. The forms and links work without this script.
(function () {
  "use strict";

  function focus(id) {
    var field = document.getElementById(id);
    if (field) {
      field.focus();
      field.scrollIntoView({ block: "center" });
    }
  }

  if (document.querySelector("[data-inbox-keys]")) {
    var list = window.keyList({
      items: ".conversation",
      first: '.conversation[data-needs-answer="true"]',
      keys: {
        o: function (row) {
          window.keyList.follow(row);
        },
        r: function (row) {
          window.keyList.follow(row, "#answer-body");
        },
        c: function (row) {
          window.keyList.follow(row, "#category");
        },
        e: function (row) {
          if (row) {
            list.keepPlace(row);
          }
          window.keyList.click(row, "done");
        },
      },
    });
  } else if (document.querySelector("[data-conversation-keys]")) {
    window.keyList({
      items: ".message",
      first: ".message:last-of-type",
      keys: {
        r: function () {
          focus("answer-body");
        },
        c: function () {
          focus("category");
        },
        e: function () {
          window.keyList.click(document, "done");
        },
      },
    });
    // Opened with r or c from the list: the answer or the category takes the keys at once.
    if (["#answer-body", "#category"].indexOf(window.location.hash) !== -1) {
      focus(window.location.hash.slice(1));
    }
  }
})();
