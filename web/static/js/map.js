/* Carte des initiatives : regroupement calculé par le serveur à chaque vue.
   Sans JavaScript, le formulaire de filtres et la liste fonctionnent seuls. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) return;
  var labels = JSON.parse(el.dataset.labels || "{}");
  var form = document.getElementById("map-filters");
  var list = document.getElementById("map-list");
  var embed = el.dataset.embed === "1";

  var map = L.map(el, { keyboard: true, zoomControl: true, minZoom: 2, maxZoom: 18, worldCopyJump: true });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  var tiles = L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 19 });
  var layer = L.layerGroup().addTo(map);

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  var filterParams = window.maillageFilterParams;  // map-early.js, loaded first

  function viewParams() {
    var b = map.getBounds();
    var params = filterParams();
    var r = function (n) { return n.toFixed(5); };
    params.set("bbox", [r(Math.max(b.getSouth(), -90)), r(Math.max(b.getWest(), -180)),
                        r(Math.min(b.getNorth(), 90)), r(Math.min(b.getEast(), 180))].join(","));
    params.set("zoom", String(map.getZoom()));
    return params;
  }

  function clusterIcon(count) {
    var size = count < 10 ? 34 : count < 100 ? 40 : count < 1000 ? 48 : 56;
    var cls = count < 100 ? "" : count < 1000 ? " cluster-icon--md" : " cluster-icon--lg";
    var text = count >= 10000 ? Math.round(count / 1000) + "k" : String(count);
    return L.divIcon({ html: text, className: "cluster-icon" + cls, iconSize: [size, size] });
  }
  var pointIcon = L.divIcon({ className: "point-icon", iconSize: [18, 18] });

  function draw(data) {
    layer.clearLayers();
    data.clusters.forEach(function (c) {
      // c = [lat, lon, count, south, west, north, east]
      var marker = L.marker([c[0], c[1]], {
        icon: clusterIcon(c[2]), title: fmt(labels.cluster || "{n}", { n: c[2] }),
        alt: fmt(labels.cluster || "{n}", { n: c[2] }), riseOnHover: true
      });
      marker.on("click", function () {
        var bounds = L.latLngBounds([c[3], c[4]], [c[5], c[6]]);
        if (bounds.getNorthEast().equals(bounds.getSouthWest()) || map.getZoom() >= map.getMaxZoom()) {
          map.setView([c[0], c[1]], Math.min(map.getZoom() + 2, map.getMaxZoom()));
        } else {
          map.fitBounds(bounds.pad(0.1), { maxZoom: map.getMaxZoom() });
        }
      });
      marker.addTo(layer);
    });
    data.points.forEach(function (p) {
      // p = [lat, lon, id, slug, name]
      var marker = L.marker([p[0], p[1]], { icon: pointIcon, title: p[4], alt: p[4] });
      var link = document.createElement("a");
      link.href = "/initiatives/" + encodeURIComponent(p[3]);
      link.textContent = p[4];
      if (embed) link.target = "_top";
      var box = document.createElement("div");
      var strong = document.createElement("strong");
      strong.appendChild(link);
      box.appendChild(strong);
      marker.bindPopup(box);
      marker.addTo(layer);
    });
    el.dataset.state = "ready";
    el.dataset.clusters = String(data.clusters.length);
    el.dataset.points = String(data.points.length);
  }

  var pending = null;
  var listPending = null;
  var drawn = 0;
  function refresh() {
    var params = viewParams();
    var url = el.dataset.data + "?" + params.toString();
    if (pending) pending.abort();
    pending = new AbortController();
    el.dataset.state = "loading";
    // map-early.js may have asked for this very view while Leaflet was loading.
    var early = window.maillageEarlyView;
    window.maillageEarlyView = null;
    var signal = pending.signal;
    (early && early.url === url ? early.response : fetch(url, { signal: signal, headers: { Accept: "application/json" } }))
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        if (signal.aborted) return;
        draw(data);
        if (!drawn++ && window.performance && performance.mark) {
          requestAnimationFrame(function () { performance.mark("maillage:first-clusters"); });
        }
      })
      .catch(function (err) { if (err.name !== "AbortError") { el.dataset.state = "error"; } });
    if (list && el.dataset.list) {
      if (listPending) listPending.abort();
      listPending = new AbortController();
      if (embed) params.set("embed", "1");
      fetch(el.dataset.list + "?" + params.toString(), { signal: listPending.signal })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) { list.innerHTML = html; list.dataset.state = "ready"; notifyHeight(); })
        .catch(function () {});
    }
    saveView();
  }

  function saveView() {
    if (embed) return;
    var c = map.getCenter();
    var query = filterParams().toString();
    var url = window.location.pathname + (query ? "?" + query : "") +
      "#" + map.getZoom() + "/" + c.lat.toFixed(4) + "/" + c.lng.toFixed(4);
    window.history.replaceState(null, "", url);
  }

  function notifyHeight() {
    if (embed && window.parent !== window) {
      window.parent.postMessage({ maillage: "resize", height: document.documentElement.scrollHeight }, "*");
    }
  }

  var hash = /^#(\d+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(window.location.hash);
  if (hash) {
    map.setView([parseFloat(hash[2]), parseFloat(hash[3])], parseInt(hash[1], 10));
  } else {
    var b = (el.dataset.bounds || "").split(",").map(parseFloat);
    // The bounds of what the filters match (a single initiative: zoom 15 at most).
    if (b.length === 4 && b.every(isFinite)) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: [20, 20], maxZoom: 15 });
    else map.setView([46.6, 2.4], 6);
  }
  map.on("moveend", refresh);
  refresh();
  tiles.addTo(map);  // after the clusters request: they are what the page is for

  // New filters: fit the map to what they match (moveend then refreshes), else refresh here.
  var fitting = null;
  function refit() {
    if (!el.dataset.fit) { refresh(); return; }
    if (fitting) fitting.abort();
    fitting = new AbortController();
    fetch(el.dataset.fit + "?" + filterParams().toString(), { signal: fitting.signal, headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var before = map.getCenter().toString() + map.getZoom();
        if (data.bounds) {
          var b = data.bounds;
          map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: [20, 20], maxZoom: 15, animate: false });
        }
        if (map.getCenter().toString() + map.getZoom() === before) refresh();
      })
      .catch(function (err) { if (err.name !== "AbortError") refresh(); });
  }

  if (form) {
    form.addEventListener("change", function () { refit(); });
    form.addEventListener("submit", function (event) { event.preventDefault(); refit(); });
    form.addEventListener("reset", function () { setTimeout(refit, 0); });
  }
  window.addEventListener("load", notifyHeight);
})();
