// Report templates and macros on the reading screen (docs/reading.md).
// A template fills findings and impression (asking first when text would be
// replaced); a macro inserts its text where the cursor was, in the field
// last typed in (findings when none). Kept out of the page: the
// Content-Security-Policy allows no inline script.
(() => {
  const form = document.getElementById("write");
  if (!form) return;
  const findings = form.querySelector("textarea[name=findings]");
  const impression = form.querySelector("textarea[name=impression]");
  let last = findings;
  [findings, impression].forEach((field) => field && field.addEventListener("focus", () => { last = field; }));

  const insertAtCursor = (field, text) => {
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.selectionStart = field.selectionEnd = start + text.length;
    field.focus();
  };

  const applyTemplate = (button) => {
    const typed = findings.value.trim() || impression.value.trim();
    if (typed && !window.confirm(button.dataset.confirmReplace)) return;
    findings.value = button.dataset.findings;
    impression.value = button.dataset.impression;
    findings.focus();
  };

  document.querySelectorAll("[data-template-kind]").forEach((button) => button.addEventListener("click", () => {
    if (button.dataset.templateKind === "TEMPLATE") applyTemplate(button);
    else insertAtCursor(last || findings, button.dataset.findings);
  }));
})();
