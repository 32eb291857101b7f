/* Grounding, 5-4-3-2-1: one sense per screen with Back and Next. Without JavaScript all
 * five senses are on one page. Focus moves to each new screen's heading. */
(function () {
  "use strict";

  function setup(root) {
    var screens = Array.prototype.slice.call(root.querySelectorAll("[data-sense]"));
    var nav = root.querySelector("[data-steps-nav]");
    var back = root.querySelector("[data-back]");
    var next = root.querySelector("[data-next]");
    var position = root.querySelector("[data-position]");
    var form = root.closest("form");
    var finish = form ? form.querySelector("[data-finish]") : null;
    if (screens.length === 0 || !nav) { return; }
    var current = 0;
    nav.hidden = false;

    function show(index, moveFocus) {
      current = index;
      screens.forEach(function (screen, i) { screen.hidden = i !== index; });
      back.disabled = index === 0;
      next.hidden = index === screens.length - 1;
      if (finish) { finish.hidden = index !== screens.length - 1; }
      position.textContent = position.getAttribute("data-template")
        .replace("%(n)s", String(index + 1))
        .replace("%(total)s", String(screens.length));
      if (moveFocus) {
        var heading = screens[index].querySelector("legend, h2, h3");
        if (heading) {
          heading.setAttribute("tabindex", "-1");
          heading.focus();
        }
      }
    }

    back.addEventListener("click", function () { if (current > 0) { show(current - 1, true); } });
    next.addEventListener("click", function () {
      if (current < screens.length - 1) { show(current + 1, true); }
    });
    show(0, false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=grounding]").forEach(setup);
  });
})();
