/* Behavioural activation: tapping a suggested activity fills in the activity box. */
(function () {
  "use strict";

  function setup(root) {
    var field = root.querySelector("input[name=activity]");
    var list = root.querySelector("[data-suggestions]");
    if (!field || !list) { return; }
    list.hidden = false;
    list.querySelectorAll("button[data-suggestion]").forEach(function (button) {
      button.addEventListener("click", function () {
        field.value = button.getAttribute("data-suggestion");
        field.focus();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=behavioural_activation]").forEach(setup);
  });
})();
