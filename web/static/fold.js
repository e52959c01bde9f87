// On a phone the filters fold away (the page is served with them open, so they work without JavaScript too).
document.addEventListener("DOMContentLoaded", function () {
  if (window.matchMedia("(max-width: 800px)").matches) {
    document.querySelectorAll("details.fold").forEach(function (d) { d.open = false; });
  }
});
