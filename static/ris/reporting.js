// Reporting keys. On the reading list J / K move between exams (as in mail
// readers) and Enter follows the focused link; in the editor Ctrl+S saves the
// draft and Ctrl+Enter signs (the form being typed in, else the first).
// Confirmation of a signature is layout.js's data-confirm.
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.altKey || e.metaKey || /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
  const links = [...document.querySelectorAll("a.exam")];
  if (!links.length || !"jk".includes(e.key)) return;
  const at = links.indexOf(document.activeElement);
  const next = e.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
  links[next].focus();
  e.preventDefault();
});
document.addEventListener("keydown", (e) => {
  if (!(e.ctrlKey || e.metaKey)) return;
  const form = (document.activeElement && document.activeElement.form) || document.querySelector("form.report-form");
  const key = e.key === "s" ? "save" : e.key === "Enter" ? "submit" : null;
  const button = form && key && form.querySelector(`[data-key=${key}]`);
  if (!button) return;
  e.preventDefault();
  button.click();
});
