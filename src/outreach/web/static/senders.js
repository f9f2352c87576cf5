// Adding an SMTP/IMAP account: choosing the security sets its usual port, unless a person typed
// another one (a port that is no security's usual one stays).
(() => {
  const usual = { port: { starttls: "587", tls: "465", none: "25" }, imap_port: { tls: "993", starttls: "143", none: "143" } };
  document.querySelectorAll("select[data-port]").forEach((select) => {
    const ports = usual[select.dataset.port];
    const port = select.form.elements[select.dataset.port];
    select.addEventListener("change", () => {
      if (Object.values(ports).includes(port.value) || port.value === "") port.value = ports[select.value];
    });
  });
})();
