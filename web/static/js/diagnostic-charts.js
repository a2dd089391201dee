/* Diagnostic : les graphiques en barres, dessinés par Observable Plot (servi par
   l'instance depuis node_modules, /assets/plot et /assets/d3).

   Amélioration progressive : chaque <div class="chart" data-table="…"> contient ses
   données dans un <script type="application/json" class="chart__data"> (libellé,
   valeur) ; le tableau rendu par le serveur à côté reste l'alternative sans JavaScript
   et la description du graphique (aria-describedby). Lisible sans couleur : barres
   hachurées, valeur écrite au bout de chaque barre, libellé en clair devant. */
(function () {
  "use strict";
  if (!window.Plot) return;
  var SVG = "http://www.w3.org/2000/svg";
  var INK = "#1d3557";
  var number = new Intl.NumberFormat(document.documentElement.lang || "fr");

  function truncate(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function hatch(svg, id) {
    var defs = document.createElementNS(SVG, "defs");
    var pattern = document.createElementNS(SVG, "pattern");
    pattern.setAttribute("id", id);
    pattern.setAttribute("width", "6");
    pattern.setAttribute("height", "6");
    pattern.setAttribute("patternUnits", "userSpaceOnUse");
    pattern.setAttribute("patternTransform", "rotate(45)");
    var back = document.createElementNS(SVG, "rect");
    back.setAttribute("width", "6");
    back.setAttribute("height", "6");
    back.setAttribute("fill", "#fff");
    var line = document.createElementNS(SVG, "line");
    line.setAttribute("x1", "0");
    line.setAttribute("y1", "0");
    line.setAttribute("x2", "0");
    line.setAttribute("y2", "6");
    line.setAttribute("stroke", INK);
    line.setAttribute("stroke-width", "3");
    pattern.appendChild(back);
    pattern.appendChild(line);
    defs.appendChild(pattern);
    svg.insertBefore(defs, svg.firstChild);
  }

  function draw(el) {
    var source = el.querySelector("script.chart__data");
    var rows = JSON.parse((source && source.textContent) || "[]");
    if (!rows.length) return;
    var pattern = "hatch-" + el.id;
    var peak = Math.max.apply(null, rows.map(function (r) { return r.value; }));
    var svg = Plot.plot({
      width: 640,
      height: 26 * rows.length + 8,
      marginTop: 4,
      marginBottom: 4,
      marginLeft: 232,
      marginRight: 56,
      style: { fontSize: "13px", color: "#111", background: "#fff" },
      x: { axis: null, domain: [0, peak || 1] },
      y: {
        domain: rows.map(function (r) { return r.label; }),
        padding: 0.2,
        label: null,
        tickSize: 0,
        tickFormat: function (label) { return truncate(label, 34); },
      },
      marks: [
        Plot.barX(rows, {
          x: "value",
          y: "label",
          fill: "url(#" + pattern + ")",
          stroke: INK,
          strokeWidth: 1,
        }),
        Plot.text(rows, {
          x: "value",
          y: "label",
          text: function (r) { return number.format(r.value); },
          textAnchor: "start",
          dx: 4,
          fontWeight: "bold",
        }),
      ],
    });
    // The SVG is one image (role="img") described by its table: Plot's aria-labels on
    // its groups would be ignored there and are not allowed on a <g> without a role, so
    // they become data-mark (what each group draws).
    svg.querySelectorAll("[aria-label]").forEach(function (node) {
      node.setAttribute("data-mark", node.getAttribute("aria-label"));
      node.removeAttribute("aria-label");
      node.removeAttribute("aria-description");
    });
    hatch(svg, pattern);
    svg.classList.add("chart__svg");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", el.dataset.title);
    svg.setAttribute("aria-describedby", el.dataset.table);
    var title = document.createElementNS(SVG, "title");
    title.textContent = el.dataset.title;
    svg.insertBefore(title, svg.firstChild);
    el.appendChild(svg);
    el.dataset.state = "ready";
  }

  document.querySelectorAll(".chart[data-table]").forEach(draw);
})();
