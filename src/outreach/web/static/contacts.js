// The contacts page: a box in the header ticks every row of the page; choosing "all matching"
// makes the rows' boxes moot, so they are greyed out. Without JavaScript both still work:
// rows are ticked one by one, and "all matching" wins on the server.
(() => {
  const bind = () => {
    const page = document.querySelector("[data-tick-page]");
    const all = document.querySelector("[data-all-matching]");
    const rows = () => document.querySelectorAll('input[name="contact_id"]');
    if (page && !page.dataset.bound) {
      page.dataset.bound = "1";
      page.hidden = false;
      page.addEventListener("change", () => rows().forEach((row) => { row.checked = page.checked; }));
    }
    if (all && !all.dataset.bound) {
      all.dataset.bound = "1";
      all.addEventListener("change", () => {
        rows().forEach((row) => { row.disabled = all.checked; });
        if (page) page.disabled = all.checked;
      });
    }
  };
  document.addEventListener("DOMContentLoaded", bind);
  document.addEventListener("htmx:afterSettle", bind);
})();
