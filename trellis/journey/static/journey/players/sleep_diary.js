/* Sleep diary: the form is plain time and number boxes, and the server works out sleep
 * efficiency. This only shows the hours in bed as the patient types, as a quick check. */
(function () {
  "use strict";

  function minutes(value) {
    var parts = (value || "").split(":");
    if (parts.length < 2) { return null; }
    return parseInt(parts[0], 10) * 60 + parseInt(parts[1], 10);
  }

  function setup(root) {
    var bed = root.querySelector("[name=bed_time]");
    var rise = root.querySelector("[name=rise_time]");
    var out = root.querySelector("[data-in-bed]");
    if (!bed || !rise || !out) { return; }
    function update() {
      var a = minutes(bed.value);
      var b = minutes(rise.value);
      if (a === null || b === null) { out.hidden = true; return; }
      var span = (b - a + 1440) % 1440;
      out.hidden = false;
      out.textContent = out.getAttribute("data-template")
        .replace("%(h)s", String(Math.floor(span / 60)))
        .replace("%(m)s", String(span % 60));
    }
    bed.addEventListener("input", update);
    rise.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=sleep_diary]").forEach(setup);
  });
})();
