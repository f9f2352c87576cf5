// Keyboard review of drafts: j/k move between drafts, a approves, e edits, r rejects,
// o opens, Shift+A approves every draft shown; in the edit form Ctrl+Enter saves and Escape
// cancels. The forms work without this script; it only adds the keys (and htmx, when
// present, swaps a draft's card in place).
(function () {
  "use strict";

  var nextIndex = null; // where to select again if the swapped card had the selection

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll(".draft-card"));
  }

  function selected() {
    return document.querySelector(".draft-card.selected");
  }

  function select(card) {
    if (!card) {
      return;
    }
    cards().forEach(function (other) {
      other.classList.remove("selected");
    });
    card.classList.add("selected");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = cards();
    if (!list.length) {
      return;
    }
    var at = list.indexOf(selected());
    if (at === -1) {
      select(list[0]);
      return;
    }
    select(list[Math.min(Math.max(at + step, 0), list.length - 1)]);
  }

  function click(card, action) {
    var button = card && card.querySelector('[data-action="' + action + '"]');
    if (button) {
      button.click();
    }
  }

  function openEdit(card) {
    var form = card && card.querySelector(".draft-edit");
    if (!form) {
      return;
    }
    form.hidden = false;
    var field = form.querySelector("textarea");
    field.focus();
  }

  function closeEdit(card) {
    var form = card && card.querySelector(".draft-edit");
    if (form) {
      form.hidden = true;
      select(card);
    }
  }

  function typing(target) {
    return (
      target &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].indexOf(target.tagName) !== -1)
    );
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-action]");
    if (!target) {
      var card = event.target.closest && event.target.closest(".draft-card");
      if (card && !typing(event.target)) {
        select(card);
      }
      return;
    }
    var owner = target.closest(".draft-card");
    if (target.dataset.action === "approve" || target.dataset.action === "reject") {
      // Move on at once, so that the next key acts on the next draft while this one is sent.
      var list = cards();
      var at = list.indexOf(owner);
      nextIndex = at;
      if (at + 1 < list.length) {
        select(list[at + 1]);
      }
    } else if (target.dataset.action === "edit") {
      select(owner);
      openEdit(owner);
    } else if (target.dataset.action === "cancel") {
      closeEdit(owner);
    }
  });

  document.addEventListener("submit", function (event) {
    var card = event.target.closest && event.target.closest(".draft-card");
    if (card && event.target.classList.contains("draft-edit")) {
      nextIndex = cards().indexOf(card);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (!document.querySelector("[data-drafts-keys]")) {
      return;
    }
    if (typing(event.target)) {
      var form = event.target.closest(".draft-edit");
      if (form && event.key === "Escape") {
        closeEdit(form.closest(".draft-card"));
        event.preventDefault();
      } else if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        form.requestSubmit();
        event.preventDefault();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var card = selected();
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "a":
        click(card, "approve");
        break;
      case "A":
        var all = document.querySelector('[data-action="approve-all"]');
        if (all) {
          all.click();
        }
        break;
      case "e":
        openEdit(card);
        break;
      case "r":
        click(card, "reject");
        break;
      case "o":
        var link = card && card.querySelector("a[href]");
        if (link) {
          window.location.href = link.getAttribute("href");
        }
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // A swapped card loses the selection when it had it (an edit saved, the last draft
  // approved): select the card now in its place.
  function reselect() {
    if (nextIndex === null || selected()) {
      return;
    }
    var list = cards();
    var at = Math.min(nextIndex, list.length - 1);
    nextIndex = null;
    if (at >= 0) {
      select(list[at]);
    }
  }

  document.addEventListener("htmx:afterSwap", reselect);
  document.addEventListener("htmx:afterSettle", reselect);

  function start() {
    if (document.querySelector("[data-drafts-keys]") && !selected()) {
      var first = document.querySelector('.draft-card[data-status="draft"]') || cards()[0];
      select(first);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
