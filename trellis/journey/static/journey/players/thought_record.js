/* Thought record: one box per screen, with Back and Next and "Box 2 of 8"; Finish is on
 * the last screen. Every box stays in the one form, so all of them are sent together, and
 * without JavaScript they are all on one page.
 *
 * Each feeling strength (0-100) gets a slider under its number box. The two always show
 * the same value: typing moves the slider, sliding fills in the number. While the number
 * box is empty the slider shows no handle (nothing chosen yet, rather than a made-up 50). */
(function () {
  "use strict";

  function pair(number) {
    var slider = document.createElement("input");
    slider.type = "range";
    slider.min = number.min || "0";
    slider.max = number.max || "100";
    slider.step = "1";
    slider.className = "intensity-slider";
    // The slider repeats the number box for pointer and touch users; the number box keeps
    // the label, so screen readers meet one control, not two.
    slider.setAttribute("aria-hidden", "true");
    slider.tabIndex = -1;
    number.insertAdjacentElement("afterend", slider);

    function fromNumber() {
      var value = parseInt(number.value, 10);
      var unset = isNaN(value);
      slider.classList.toggle("unset", unset);
      slider.value = unset ? "50" : String(Math.max(0, Math.min(100, value)));
    }
    slider.addEventListener("input", function () {
      slider.classList.remove("unset");
      number.value = slider.value;
      number.dispatchEvent(new Event("input", { bubbles: true }));
    });
    number.addEventListener("input", fromNumber);
    number.addEventListener("change", fromNumber);
    fromNumber();
  }

  function setup(root) {
    root.querySelectorAll("input[data-intensity]").forEach(pair);
    var screens = Array.prototype.slice.call(root.querySelectorAll("[data-tr-box]"));
    var nav = root.querySelector("[data-steps-nav]");
    var form = root.closest("form");
    if (screens.length === 0 || !nav || !window.Trellis || !window.Trellis.stepThrough) { return; }
    window.Trellis.stepThrough({
      screens: screens,
      nav: nav,
      finish: form ? form.querySelector("[data-finish]") : null,
      focusTarget: function (screen) {
        return screen.querySelector("textarea, input:not([type=range])");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=thought_record]").forEach(setup);
  });
})();
