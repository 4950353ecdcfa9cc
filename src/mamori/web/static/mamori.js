// Progressive enhancement only: every flow works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  navigator.clipboard.writeText(source.innerText).then(() => {
    button.textContent = button.dataset.copied || "Copied";
  });
});

// The browser's time zone, so the times on pages are the person's own. Only a hint: a
// logged-in person's zone is kept on their account and changed in Accounts Center.
try {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const cookie = "mamori_tz=" + encodeURIComponent(zone);
  if (zone && !document.cookie.split("; ").includes(cookie)) {
    const secure = location.protocol === "https:" ? "; secure" : "";
    document.cookie = cookie + "; path=/; max-age=34560000; samesite=lax" + secure;
  }
} catch (error) {
  // An old browser without Intl: the server's default for the language stays.
}

// The browser's own check of a required field says what the server would say of it
// (the field's data-missing, the same message in the person's language).
document.addEventListener(
  "invalid",
  (event) => {
    const field = event.target;
    if (field.dataset?.missing && field.validity.valueMissing) {
      field.setCustomValidity(field.dataset.missing);
    }
  },
  true,
);
document.addEventListener("input", (event) => event.target.setCustomValidity?.(""), true);
