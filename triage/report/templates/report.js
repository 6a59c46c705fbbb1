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

  severityFilter();
  messageFilter();
}());
