// The status board: a refused change (400, 409) still swaps in its answer, so
// its reason shows in #board-refusal (sent out of band) instead of nothing.
// htmx keeps the keyboard focus on a control with the same id after each refresh.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    if (status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
