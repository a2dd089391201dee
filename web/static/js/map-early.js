/* Premier regroupement demandé tôt : pendant que Leaflet se charge, calcule la vue sur
   laquelle la carte s'ouvrira (comme L.Map.fitBounds avec 20 px de marge et au plus le
   zoom 15, ou la vue #zoom/lat/lon de l'adresse) et demande déjà ses groupes. map.js
   reprend cette réponse s'il demande la même vue ; sinon elle est simplement ignorée. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.fetch || !window.URLSearchParams) return;
  var FILTERS = ["q", "theme", "actor_kind", "need", "commune"];

  // The filters of the form (or, in an embed, of the address): map.js uses it too.
  function filterParams() {
    var params = new URLSearchParams();
    var form = document.getElementById("map-filters");
    if (form) {
      new FormData(form).forEach(function (value, key) {
        if (FILTERS.indexOf(key) >= 0 && String(value).trim()) params.append(key, value);
      });
    } else {
      var current = new URLSearchParams(window.location.search);
      FILTERS.forEach(function (key) {
        current.getAll(key).forEach(function (v) { if (v) params.append(key, v); });
      });
    }
    return params;
  }
  window.maillageFilterParams = filterParams;
  var R = 6378137, D = Math.PI / 180, MAX_LAT = 85.0511287798, K = 0.5 / (Math.PI * R);
  var MIN_ZOOM = 2, MAX_ZOOM = 18, FIT_MAX_ZOOM = 15;

  // Web Mercator as Leaflet computes it (L.CRS.EPSG3857), in pixels at `zoom`.
  function project(lat, lon, zoom) {
    var scale = 256 * Math.pow(2, zoom);
    var sin = Math.sin(Math.max(Math.min(MAX_LAT, lat), -MAX_LAT) * D);
    return [scale * (K * (R * lon * D) + 0.5), scale * (-K * (R * Math.log((1 + sin) / (1 - sin)) / 2) + 0.5)];
  }
  function unproject(x, y, zoom) {
    var scale = 256 * Math.pow(2, zoom);
    var px = (x / scale - 0.5) / K, py = (y / scale - 0.5) / -K;
    var d = 180 / Math.PI;
    return [(2 * Math.atan(Math.exp(py / R)) - (Math.PI / 2)) * d, px * d / R];
  }

  var width = el.clientWidth, height = el.clientHeight;
  if (!width || !height) return;
  var center, zoom;
  var hash = /^#(\d+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(window.location.hash);
  var b = (el.dataset.bounds || "").split(",").map(parseFloat);
  if (hash) {
    center = [parseFloat(hash[2]), parseFloat(hash[3])];
    zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, parseInt(hash[1], 10)));
  } else if (b.length === 4 && b.every(isFinite)) {
    var nw = project(b[2], b[1], 0), se = project(b[0], b[3], 0);
    var scale = Math.min((width - 40) / Math.abs(se[0] - nw[0]), (height - 40) / Math.abs(se[1] - nw[1]));
    zoom = Math.log(scale) / Math.LN2;
    zoom = Math.floor(Math.round(zoom / 0.01) * 0.01);
    zoom = Math.min(FIT_MAX_ZOOM, Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, zoom)));
    var sw = project(b[0], b[1], zoom), ne = project(b[2], b[3], zoom);
    center = unproject((sw[0] + ne[0]) / 2, (sw[1] + ne[1]) / 2, zoom);
  } else {
    return;
  }
  var c = project(center[0], center[1], zoom);
  var left = Math.round(c[0] - width / 2), top = Math.round(c[1] - height / 2);
  var southWest = unproject(left, top + height, zoom), northEast = unproject(left + width, top, zoom);

  var params = filterParams();
  var r = function (n) { return n.toFixed(5); };
  params.set("bbox", [r(Math.max(southWest[0], -90)), r(Math.max(southWest[1], -180)),
                      r(Math.min(northEast[0], 90)), r(Math.min(northEast[1], 180))].join(","));
  params.set("zoom", String(zoom));
  var url = el.dataset.data + "?" + params.toString();
  window.maillageEarlyView = {
    url: url,
    response: fetch(url, { headers: { Accept: "application/json" } })
  };
})();
