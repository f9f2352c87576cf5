// A campaign's tabs: a merge field goes where the cursor was in its step's subject or text.
// Without this script the fields are still shown to copy. (The time-zone picker is zones.js.)
(() => {
  const lastField = new WeakMap();
  document.addEventListener("focusin", (event) => {
    const field = event.target;
    if (field.matches("form.step input[name=subject], form.step textarea[name=body]")) {
      lastField.set(field.form, field);
    }
  });
  document.addEventListener("click", (event) => {
    const chip = event.target.closest("[data-insert]");
    if (chip) {
      const form = chip.closest("form");
      const field = lastField.get(form) || form.querySelector("textarea[name=body]");
      const start = field.selectionStart ?? field.value.length;
      const end = field.selectionEnd ?? start;
      field.setRangeText(chip.dataset.insert, start, end, "end");
      field.focus();
    }
  });
})();
