// A campaign's tabs: a merge field goes where the cursor was in its step's subject or text, and
// a time zone the search offers fills the field in. Without this script the fields are still
// shown to copy, and a city's name typed in the field is understood when saved.
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
      return;
    }
    const zone = event.target.closest("[data-zone]");
    if (zone) {
      const picker = zone.closest("fieldset").querySelector("input[name=timezone]");
      picker.value = zone.dataset.zone;
      zone.closest("ul").replaceChildren();
      picker.focus();
    }
  });
})();
