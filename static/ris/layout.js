// The layout's small behaviours, without inline handlers:
// a select marked data-submit-on-change sends its form (the language switcher);
// a button with data-confirm asks first (Enter confirms).
document.addEventListener("change", (e) => {
  if (e.target.matches("[data-submit-on-change]")) e.target.form.submit();
});
document.addEventListener("click", (e) => {
  const button = e.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) e.preventDefault();
});
