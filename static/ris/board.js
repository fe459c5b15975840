// The status board polls every 2 s; a poll waits while someone is choosing in
// one of its menus, so the menu is not replaced under the pointer.
// Kept out of the page (no hx-trigger filter): the Content-Security-Policy allows no eval.
document.addEventListener("htmx:confirm", (event) => {
  const board = document.getElementById("board");
  if (event.target === board && board.querySelector("select:focus")) event.preventDefault();
});
