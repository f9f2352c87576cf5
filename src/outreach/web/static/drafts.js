// Keyboard review of drafts (through keylist.js): j/k move between drafts, a approves, e edits,
// r rejects, o opens, Shift+A approves every draft shown; in the edit form Ctrl+Enter saves and
// Escape cancels. The forms work without this script; it only adds the keys (and htmx, when
// present, swaps a draft's card in place).
(function () {
  "use strict";

  if (!document.querySelector("[data-drafts-keys]")) {
    return;
  }

  function openEdit(card) {
    var form = card && card.querySelector(".draft-edit");
    if (!form) {
      return;
    }
    form.hidden = false;
    form.querySelector("textarea").focus();
  }

  function closeEdit(card) {
    var form = card && card.querySelector(".draft-edit");
    if (form) {
      form.hidden = true;
      list.select(card);
    }
  }

  var list = window.keyList({
    items: ".draft-card",
    first: '.draft-card[data-status="draft"]',
    keys: {
      a: function (card) {
        window.keyList.click(card, "approve");
      },
      A: function () {
        window.keyList.click(document, "approve-all");
      },
      e: openEdit,
      r: function (card) {
        window.keyList.click(card, "reject");
      },
      o: function (card) {
        window.keyList.follow(card);
      },
    },
    typing: function (event) {
      var form = event.target.closest(".draft-edit");
      if (form && event.key === "Escape") {
        closeEdit(form.closest(".draft-card"));
        event.preventDefault();
      } else if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        form.requestSubmit();
        event.preventDefault();
      }
    },
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-action]");
    var owner = target && target.closest(".draft-card");
    if (!owner) {
      return;
    }
    if (target.dataset.action === "approve" || target.dataset.action === "reject") {
      // Move on at once, so that the next key acts on the next draft while this one is sent.
      var cards = list.items();
      var at = cards.indexOf(owner);
      list.keepPlace(owner);
      if (at + 1 < cards.length) {
        list.select(cards[at + 1]);
      }
    } else if (target.dataset.action === "edit") {
      list.select(owner);
      openEdit(owner);
    } else if (target.dataset.action === "cancel") {
      closeEdit(owner);
    }
  });

  document.addEventListener("submit", function (event) {
    var card = event.target.closest && event.target.closest(".draft-card");
    if (card && event.target.classList.contains("draft-edit")) {
      list.keepPlace(card);
    }
  });
})();
