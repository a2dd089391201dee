/* À inclure par le site hôte : ajuste la hauteur des iframes Maillage à leur contenu. */
(function () {
  "use strict";
  var origin = new URL(document.currentScript.src).origin;
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || event.data.maillage !== "resize") return;
    var frames = document.querySelectorAll("iframe[data-maillage]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.max(200, Math.min(4000, Number(event.data.height) || 0)) + "px";
      }
    }
  });
})();
