// Spotcheck console: keyboard shortcuts for the review queue, the bulk counter, printing.
// Pages work without it; this only saves keystrokes.
(function () {
  "use strict";
  function items() { return Array.prototype.slice.call(document.querySelectorAll("[data-item]")); }
  var current = -1;
  function focusItem(index) {
    var all = items();
    if (!all.length) { return; }
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (el, i) { el.classList.toggle("current", i === current); });
    all[current].focus({ preventScroll: true });
    all[current].scrollIntoView({ block: "start", behavior: "smooth" });
  }
  function typing(target) {
    return target && (target.tagName === "INPUT" && !/radio|checkbox/.test(target.type) || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
  }
  function choose(item, key) {
    var radio = item.querySelector('input[type=radio][data-key="' + key + '"]');
    if (!radio) { return; }
    radio.checked = true;
    // Setting .checked fires no "change": send one, so the chosen action's field turns required.
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    var field = key === "a" ? item.querySelector("input[name=points]") : item.querySelector("input[name=reason]");
    if (key === "c") { item.querySelector("[data-decision] button[type=submit]").focus(); } else if (field) { field.focus(); }
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var all = items();
    if (!all.length) { return; }
    var item = all[current] || all[0];
    switch (event.key) {
      case "j": focusItem(current + 1); break;
      case "k": focusItem(current - 1); break;
      case "o": var link = item.querySelector("[data-open]"); if (link) { window.location = link.href; } break;
      case "c": case "a": case "r": if (current < 0) { focusItem(0); } choose(all[current], event.key); break;
      case "x": var box = item.querySelector("input.select"); if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); } break;
      default: return;
    }
    event.preventDefault();
  });
  function countSelected() {
    var n = document.querySelectorAll("input.select:checked").length;
    document.querySelectorAll("[data-selected]").forEach(function (el) { el.textContent = n; });
  }
  document.addEventListener("change", function (event) { if (event.target.classList.contains("select")) { countSelected(); } });
  document.addEventListener("click", function (event) { if (event.target.hasAttribute("data-print")) { window.print(); } });
  // A chosen action and its field go together: picking "adjust" makes the points required.
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (!form || event.target.type !== "radio") { return; }
    var points = form.querySelector("input[name=points]"), reason = form.querySelector("input[name=reason]");
    var value = event.target.value;
    if (points) { points.required = value === "adjust" || value === "partial"; }
    if (reason && event.target.name === "action") { reason.required = value !== "confirm"; }
  });
})();
