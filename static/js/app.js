// Small behaviours that the strict Content-Security-Policy allows (no inline script anywhere).
document.addEventListener("htmx:responseError", (event) => {
  const box = document.querySelector(".messages") || document.createElement("ul");
  box.className = "messages";
  box.innerHTML = '<li class="msg msg-error">The server could not complete that request. Nothing was saved.</li>';
  document.querySelector("main")?.prepend(box);
});
