// The time-zone picker (templates/_zone_picker.html): a zone the server's search offers fills
// the field in. Without this script the zones are still listed to copy, and a city's name typed
// in the field is understood when saved.
document.addEventListener("click", (event) => {
  const zone = event.target.closest("[data-zone]");
  if (!zone) return;
  const field = zone.closest(".zone-picker").querySelector("input[name=timezone]");
  field.value = zone.dataset.zone;
  zone.closest("ul").replaceChildren();
  field.focus();
});
