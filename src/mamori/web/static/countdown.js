// The two-factor step's resend wait, counted down. Without this file the page already
// says how long to wait, and the button works (the server refuses too early a resend
// with the same sentence).
for (const note of document.querySelectorAll("[data-countdown]")) {
  let left = Number(note.dataset.countdown);
  const button = note.closest("form")?.querySelector("button[type=submit]");
  // Only a short wait between two sends is counted; an hour's wait stays as written.
  if (!button || !(left > 0) || left > 90) continue;
  button.disabled = true;
  const tick = () => {
    left -= 1;
    if (left <= 0) {
      note.textContent = note.dataset.ready;
      button.disabled = false;
      return;
    }
    // English says "1 second", "2 seconds"; the page gives both forms.
    note.textContent =
      left === 1 ? note.dataset.second : note.dataset.seconds.replace("{s}", String(left));
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}
