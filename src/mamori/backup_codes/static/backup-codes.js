// Progressive enhancement: a Print button where the page itself is the printable sheet.
// Without JavaScript the browser's own Print command does the same.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
