/* Grounding, 5-4-3-2-1: one sense per screen. The first screen has Next only, the last has
 * Back and Finish. Without JavaScript all five senses are on one page. Focus moves to each
 * new screen's heading. */
(function () {
  "use strict";

  function setup(root) {
    var screens = Array.prototype.slice.call(root.querySelectorAll("[data-sense]"));
    var nav = root.querySelector("[data-steps-nav]");
    var form = root.closest("form");
    if (screens.length === 0 || !nav || !window.Trellis || !window.Trellis.stepThrough) { return; }
    window.Trellis.stepThrough({
      screens: screens,
      nav: nav,
      finish: form ? form.querySelector("[data-finish]") : null,
      focusTarget: function (screen) { return screen.querySelector("legend"); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=grounding]").forEach(setup);
  });
})();
