/* Dans une iframe : signale sa hauteur à la page hôte (voir embed-host.js). */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function send() {
    var height = document.documentElement.scrollHeight;
    if (height !== last) {
      last = height;
      window.parent.postMessage({ maillage: "resize", height: height, src: window.location.href }, "*");
    }
  }
  window.addEventListener("load", send);
  if (window.ResizeObserver) new ResizeObserver(send).observe(document.body);
  else window.setInterval(send, 1000);
})();
