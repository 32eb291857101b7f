/* Thought record: each emotion intensity (0-100) gets a slider next to its number box.
 * Both stay in step; the number box is the form field, so typing a number always works. */
(function () {
  "use strict";

  function pair(number) {
    var slider = document.createElement("input");
    slider.type = "range";
    slider.min = number.min || "0";
    slider.max = number.max || "100";
    slider.step = "5";
    slider.value = number.value || "50";
    slider.className = "intensity-slider";
    // The slider repeats the number box for pointer and touch users; the number box keeps
    // the label, so screen readers meet one control, not two.
    slider.setAttribute("aria-hidden", "true");
    slider.tabIndex = -1;
    number.insertAdjacentElement("afterend", slider);
    slider.addEventListener("input", function () {
      number.value = slider.value;
      number.dispatchEvent(new Event("input", { bubbles: true }));
    });
    number.addEventListener("input", function () {
      var value = parseInt(number.value, 10);
      if (!isNaN(value)) { slider.value = String(Math.max(0, Math.min(100, value))); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=thought_record] input[data-intensity]").forEach(pair);
  });
})();
