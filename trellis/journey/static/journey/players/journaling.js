/* Journaling: a text box with a live count of characters (see journey.js) and a word count. */
(function () {
  "use strict";

  function setup(root) {
    var area = root.querySelector("textarea");
    var words = root.querySelector("[data-words]");
    if (!area || !words) { return; }
    function update() {
      var text = area.value.trim();
      var count = text ? text.split(/\s+/).length : 0;
      words.textContent = words.getAttribute("data-template").replace("%(n)s", String(count));
    }
    words.hidden = false;
    area.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=journaling]").forEach(setup);
  });
})();
