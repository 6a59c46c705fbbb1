// Filters for the report's pages (findings on index.html, messages on a conversation page). Each page is
// complete without this script; it only hides and shows.
(function () {
  "use strict";
  function all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function severityFilter() {
    var box = document.getElementById("finding-filter");
    if (!box) { return; }
    box.hidden = false;
    var apply = function () {
      var shown = {};
      all("input[data-severity]", box).forEach(function (c) { shown[c.getAttribute("data-severity")] = c.checked; });
      all("details.finding").forEach(function (d) {
        d.classList.toggle("hidden-by-filter", !shown[d.getAttribute("data-severity")]);
      });
    };
    all("input[data-severity]", box).forEach(function (c) { c.addEventListener("change", apply); });
    all("button[data-open]", box).forEach(function (b) {
      b.addEventListener("click", function () {
        var open = b.getAttribute("data-open") === "1";
        all("details.finding").forEach(function (d) { d.open = open; });
      });
    });
  }

  function messageFilter() {
    var box = document.getElementById("message-filter");
    if (!box) { return; }
    box.hidden = false;
    var text = document.getElementById("message-text");
    var thread = document.getElementById("message-thread");  // absent on a page of one conversation
    var apply = function () {
      var needle = text.value.trim().toLowerCase();
      var wanted = thread ? thread.value : "";
      all("div.thread").forEach(function (t) {
        var inThread = !wanted || t.id === wanted;
        var visible = 0;
        all(".bubble", t).forEach(function (b) {
          var hit = inThread && (!needle || b.textContent.toLowerCase().indexOf(needle) !== -1);
          b.classList.toggle("hidden-by-filter", !hit);
          if (hit) { visible += 1; }
        });
        t.classList.toggle("hidden-by-filter", visible === 0);
      });
      document.getElementById("message-count").textContent = String(all(".thread .bubble:not(.hidden-by-filter)").length);
    };
    text.addEventListener("input", apply);
    if (thread) { thread.addEventListener("change", apply); }
    apply();
  }

  // Zoom and pan of the map (index.html): the viewBox changes; marks and labels keep their size on screen,
  // each scaled about a point inside itself (data-ax/data-ay, or a disc's centre), so labels apart at the
  // whole map stay apart (map_labels.py). A leader line's end follows its label (data-ox/data-oy). Without
  // script the whole map is shown as drawn.
  function mapZoom() {
    var tools = document.getElementById("map-tools");
    var svg = document.querySelector("#map-box svg.map");
    if (!tools || !svg) { return; }
    tools.hidden = false;
    var original = svg.getAttribute("viewBox");
    var full = original.split(" ").map(Number);
    var view = full.slice();
    var MAX = 16;
    var keep = all("[data-ax], circle.pt, circle.cluster", svg).map(function (el) {
      var x = el.getAttribute("data-ax"), y = el.getAttribute("data-ay");
      if (x === null) { x = el.getAttribute("cx"); y = el.getAttribute("cy"); }
      return [el, Number(x), Number(y)];
    }).filter(function (k) { return k[0].tagName.toLowerCase() !== "circle" || !k[0].closest("[data-ax]"); });
    var leaders = all("line[data-ox]", svg).map(function (l) {
      return [l, Number(l.getAttribute("data-ox")), Number(l.getAttribute("data-oy")),
              Number(l.getAttribute("x2")), Number(l.getAttribute("y2"))];
    });
    svg.setAttribute("tabindex", "0");
    svg.setAttribute("aria-keyshortcuts", "+ - ArrowLeft ArrowRight ArrowUp ArrowDown 0");

    function apply() {
      view[0] = Math.min(Math.max(view[0], full[0]), full[0] + full[2] - view[2]);
      view[1] = Math.min(Math.max(view[1], full[1]), full[1] + full[3] - view[3]);
      var s = view[2] / full[2];
      svg.setAttribute("viewBox", s >= 1 ? original : view.map(function (v) { return v.toFixed(2); }).join(" "));
      keep.forEach(function (k) {
        if (s >= 1) { k[0].removeAttribute("transform"); return; }  // the whole map: as drawn without script
        k[0].setAttribute("transform",
          "translate(" + k[1] + " " + k[2] + ") scale(" + s + ") translate(" + (-k[1]) + " " + (-k[2]) + ")");
      });
      leaders.forEach(function (l) {
        l[0].setAttribute("x2", (l[1] + (l[3] - l[1]) * s).toFixed(2));
        l[0].setAttribute("y2", (l[2] + (l[4] - l[2]) * s).toFixed(2));
      });
    }
    function zoom(factor, cx, cy) {  // cx, cy: the map point that stays put (default: the view's centre)
      var w = Math.min(full[2], Math.max(full[2] / MAX, view[2] / factor));
      var h = w * full[3] / full[2];
      if (cx === undefined) { cx = view[0] + view[2] / 2; cy = view[1] + view[3] / 2; }
      view = [cx - (cx - view[0]) * w / view[2], cy - (cy - view[1]) * h / view[3], w, h];
      apply();
    }
    function pan(dx, dy) { view[0] += dx * view[2]; view[1] += dy * view[3]; apply(); }
    function toMap(evt) {
      var r = svg.getBoundingClientRect();
      return [view[0] + (evt.clientX - r.left) / r.width * view[2], view[1] + (evt.clientY - r.top) / r.height * view[3]];
    }
    all("button[data-zoom]", tools).forEach(function (b) {
      b.addEventListener("click", function () {
        var what = b.getAttribute("data-zoom");
        if (what === "reset") { view = full.slice(); apply(); } else { zoom(what === "in" ? 1.5 : 1 / 1.5); }
      });
    });
    svg.addEventListener("wheel", function (evt) {
      evt.preventDefault();
      var at = toMap(evt);
      zoom(evt.deltaY < 0 ? 1.25 : 0.8, at[0], at[1]);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (evt) {
      if (evt.button !== 0 || evt.target.closest("a")) { return; }
      drag = [evt.clientX, evt.clientY];
      svg.setPointerCapture(evt.pointerId);
    });
    svg.addEventListener("pointermove", function (evt) {
      if (!drag) { return; }
      var r = svg.getBoundingClientRect();
      pan(-(evt.clientX - drag[0]) / r.width, -(evt.clientY - drag[1]) / r.height);
      drag = [evt.clientX, evt.clientY];
    });
    svg.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("keydown", function (evt) {
      var keys = { "+": function () { zoom(1.5); }, "=": function () { zoom(1.5); }, "-": function () { zoom(1 / 1.5); },
                   "0": function () { view = full.slice(); apply(); },
                   ArrowLeft: function () { pan(-0.1, 0); }, ArrowRight: function () { pan(0.1, 0); },
                   ArrowUp: function () { pan(0, -0.1); }, ArrowDown: function () { pan(0, 0.1); } };
      if (keys[evt.key]) { evt.preventDefault(); keys[evt.key](); }
    });
  }

  severityFilter();
  messageFilter();
  mapZoom();
}());
