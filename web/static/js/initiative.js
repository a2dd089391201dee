/* Petite carte de la fiche : un repère, pas d'interaction obligatoire. */
(function () {
  "use strict";
  var el = document.getElementById("initiative-map");
  if (!el || !window.L) return;
  var pos = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
  var map = L.map(el, { scrollWheelZoom: false, keyboard: false }).setView(pos, 15);
  map.attributionControl.setPrefix(false);
  L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
  L.marker(pos, { icon: L.divIcon({ className: "point-icon", iconSize: [18, 18] }), keyboard: false, title: el.dataset.name }).addTo(map);
})();
