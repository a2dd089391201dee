// Proposal form, progressive enhancement: commune suggestions from the instance and a map
// pin to adjust the position. Without JavaScript the form works as it is.
(function () {
  "use strict";

  function debounce(fn, ms) {
    let timer;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  }

  const city = document.querySelector("[data-commune-search]");
  const insee = document.getElementById("f-insee_code");
  const postal = document.getElementById("f-postal_code");
  const lat = document.getElementById("f-latitude");
  const lon = document.getElementById("f-longitude");
  const pinBox = document.querySelector("[data-pin-map]");
  let marker = null;
  let map = null;
  let suggestions = [];

  function addMarker(point) {
    marker = window.L.marker(point, {
      draggable: true, keyboard: true, title: "Position de l'initiative", alt: "Position de l'initiative",
    }).addTo(map);
    marker.on("dragend", () => {
      const p = marker.getLatLng();
      lat.value = p.lat.toFixed(6);
      lon.value = p.lng.toFixed(6);
    });
  }

  function setPosition(latitude, longitude, zoom) {
    lat.value = latitude.toFixed(6);
    lon.value = longitude.toFixed(6);
    if (map) {
      const point = [latitude, longitude];
      if (marker) marker.setLatLng(point);
      else addMarker(point);
      map.setView(point, zoom || map.getZoom());
    }
  }

  if (city) {
    const list = document.getElementById(city.getAttribute("list"));
    const url = city.dataset.communeSearch;
    const label = (c) => (c.postal_code ? `${c.name} (${c.postal_code})` : c.name);
    const fetchSuggestions = debounce(async () => {
      const q = city.value.trim();
      if (q.length < 2) return;
      try {
        const response = await fetch(`${url}?q=${encodeURIComponent(q)}`, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        suggestions = await response.json();
        list.replaceChildren(...suggestions.map((c) => {
          const option = document.createElement("option");
          option.value = label(c);
          return option;
        }));
      } catch (error) {
        // The server checks the commune on submit anyway.
      }
    }, 200);
    city.addEventListener("input", () => {
      const chosen = suggestions.find((c) => label(c) === city.value);
      if (chosen) {
        city.value = chosen.name;
        insee.value = chosen.insee_code;
        if (postal && !postal.value) postal.value = chosen.postal_code || "";
        if (chosen.latitude != null && chosen.longitude != null) setPosition(chosen.latitude, chosen.longitude, 14);
      } else {
        insee.value = "";
        fetchSuggestions();
      }
    });
  }

  if (pinBox && window.L && lat && lon) {
    const box = document.getElementById("pin-map");
    box.hidden = false;
    box.setAttribute("aria-label", "Carte : cliquez ou déplacez le repère pour placer l'initiative");
    pinBox.querySelector(".pin__js-help").hidden = false;
    const [cLat, cLon] = (pinBox.dataset.center || "46.6,2.4").split(",").map(Number);
    map = window.L.map(box, { scrollWheelZoom: false }).setView([cLat, cLon], Number(pinBox.dataset.zoom || 6));
    window.L.tileLayer(pinBox.dataset.tileUrl, { attribution: pinBox.dataset.tileAttribution, maxZoom: 19 }).addTo(map);
    if (lat.value && lon.value && !isNaN(Number(lat.value)) && !isNaN(Number(lon.value))) {
      addMarker([Number(lat.value), Number(lon.value)]);
    }
    map.on("click", (event) => setPosition(event.latlng.lat, event.latlng.lng));
    const follow = () => {
      const a = Number(lat.value.replace(",", "."));
      const b = Number(lon.value.replace(",", "."));
      if (lat.value && lon.value && Math.abs(a) <= 90 && Math.abs(b) <= 180) {
        if (marker) marker.setLatLng([a, b]);
        else addMarker([a, b]);
        map.panTo([a, b]);
      }
    };
    lat.addEventListener("change", follow);
    lon.addEventListener("change", follow);
  }

  // After a refused submission, bring the error summary into focus for screen readers.
  const summary = document.getElementById("erreurs");
  if (summary) summary.focus();
})();
