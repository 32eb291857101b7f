/* Mindfulness: a quiet timer next to the guided script. Start, pause, and finish at any time;
 * screen readers hear only "started", "paused" and "time is up". */
(function () {
  "use strict";

  function setup(root) {
    var form = root.closest("form");
    var timer = root.querySelector("[data-timer]");
    if (!form || !timer) { return; }
    var display = timer.querySelector("[data-remaining]");
    var start = timer.querySelector("[data-start]");
    var pause = timer.querySelector("[data-pause]");
    var live = timer.querySelector("[data-live]");
    var minutesField = form.querySelector("[name=minutes]");
    var total = (parseInt(root.getAttribute("data-minutes"), 10) || 5) * 60;
    var left = total;
    var practised = 0;
    var tick = null;
    timer.hidden = false;

    function show() {
      display.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    }
    function record() {
      if (minutesField) {
        minutesField.value = String(Math.max(1, Math.min(60, Math.ceil(practised / 60))));
      }
    }
    function stop(message) {
      clearInterval(tick);
      tick = null;
      start.hidden = false;
      pause.hidden = true;
      live.textContent = message;
      record();
    }

    start.addEventListener("click", function () {
      if (left <= 0) { left = total; }
      start.hidden = true;
      pause.hidden = false;
      pause.focus();
      live.textContent = timer.getAttribute("data-label-started");
      if (window.Trellis && window.Trellis.markStarted) { window.Trellis.markStarted(form); }
      tick = setInterval(function () {
        left -= 1;
        practised += 1;
        show();
        if (left <= 0) {
          stop(timer.getAttribute("data-label-done"));
          var submit = form.querySelector("[type=submit]");
          if (submit) { submit.focus(); }
        } else if (practised % 60 === 0) {
          record();
        }
      }, 1000);
    });
    pause.addEventListener("click", function () { stop(timer.getAttribute("data-label-paused")); });
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=mindfulness]").forEach(setup);
  });
})();
