// The layout's small behaviours, without inline handlers:
// a select marked data-submit-on-change sends its form (the language switcher);
// a button with data-ask asks first (Enter confirms). (The report editor's
// signatures ask through report-editor.js, with data-confirm.)
document.addEventListener("change", (e) => {
  if (e.target.matches("[data-submit-on-change]")) e.target.form.submit();
});
document.addEventListener("click", (e) => {
  const button = e.target.closest("[data-ask]");
  if (button && !window.confirm(button.dataset.ask)) e.preventDefault();
});
