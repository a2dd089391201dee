// "Copy" buttons next to read-only fields (hidden without JavaScript or clipboard access).
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach((button) => {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(document.querySelector(button.dataset.copy).value);
      button.textContent = button.dataset.copied;
    });
  });
})();
