/* Diagnostic : les communes aux besoins non couverts sur une carte (Leaflet).
   Chaque repère porte en chiffres le nombre de besoins non couverts (lisible sans
   couleur) ; le tableau qui suit la carte en donne le même contenu. */
(function () {
  "use strict";
  var el = document.getElementById("uncovered-map-canvas");
  if (!el || !window.L) return;
  var points = JSON.parse(el.dataset.points || "[]");
  var labels = JSON.parse(el.dataset.labels || "{}");

  var map = L.map(el, { keyboard: true, scrollWheelZoom: false, minZoom: 2, maxZoom: 16 });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);

  var bounds = [];
  points.forEach(function (p) {
    var n = p.needs.length;
    var size = n < 3 ? 28 : n < 6 ? 34 : 40;
    var title = (labels.title || "{name}: {n}").replace("{name}", p.name).replace("{n}", n);
    var marker = L.marker([p.lat, p.lon], {
      icon: L.divIcon({ html: String(n), className: "uncovered-icon", iconSize: [size, size] }),
      title: title,
      keyboard: true,
    });
    var popup = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = p.name + " (" + p.code + ")";
    var list = document.createElement("ul");
    p.needs.forEach(function (need) {
      var item = document.createElement("li");
      item.textContent = need;
      list.appendChild(item);
    });
    popup.appendChild(name);
    popup.appendChild(list);
    marker.bindPopup(popup);
    marker.addTo(map);
    var icon = marker.getElement();
    if (icon) icon.setAttribute("aria-label", title);
    bounds.push([p.lat, p.lon]);
  });
  if (bounds.length) {
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 12 });
  } else {
    map.setView([46.6, 2.4], 5);
  }
  el.dataset.state = "ready";
})();
