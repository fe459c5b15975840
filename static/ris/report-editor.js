// The report editor's keys: Ctrl+S saves the draft, Ctrl+Enter signs; a signature asks once.
// Kept out of the page: the Content-Security-Policy allows no inline script.
// Ctrl+S saves the draft, Ctrl+Enter signs (the form being typed in, else the first).
document.addEventListener("keydown", (e) => {
  if (!(e.ctrlKey || e.metaKey)) return;
  const form = (document.activeElement && document.activeElement.form) || document.querySelector("form.report-form");
  const key = e.key === "s" ? "save" : e.key === "Enter" ? "submit" : null;
  const button = form && key && form.querySelector(`[data-key=${key}]`);
  if (!button) return;
  e.preventDefault();
  button.click();
});
// A signature leaves the RIS for the EHR: ask once (Enter confirms).
document.querySelectorAll("[data-confirm]").forEach((button) => button.addEventListener("click", (e) => {
  if (!window.confirm(button.dataset.confirm)) e.preventDefault();
}));
