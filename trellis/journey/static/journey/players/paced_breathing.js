/* Paced breathing: a circle that grows while you breathe in and shrinks while you breathe out.
 * With prefers-reduced-motion the circle stays still and a text countdown guides instead.
 * Screen readers hear each phase change once (an aria-live region), never every second.
 * Without JavaScript the form asks how long the patient breathed. */
(function () {
  "use strict";

  function setup(root) {
    var form = root.closest("form");
    var pacer = root.querySelector("[data-pacer]");
    if (!form || !pacer) { return; }
    var inhale = parseInt(root.getAttribute("data-inhale"), 10) || 4;
    var hold = parseInt(root.getAttribute("data-hold"), 10) || 0;
    var exhale = parseInt(root.getAttribute("data-exhale"), 10) || 6;
    var circle = pacer.querySelector(".pacer-circle");
    var phaseText = pacer.querySelector("[data-phase]");
    var countText = pacer.querySelector("[data-count]");
    var remainingText = pacer.querySelector("[data-remaining]");
    var live = pacer.querySelector("[data-live]");
    var startButton = pacer.querySelector("[data-start]");
    var stopButton = pacer.querySelector("[data-stop]");
    var minutesField = form.querySelector("[name=minutes]");
    var breathsField = form.querySelector("[name=breaths]");
    var manual = root.querySelector("[data-manual]");
    // While the pacer runs, "Finish now" is the one way to stop: the form's own Finish
    // button comes back (and takes focus) when the breathing ends.
    var submit = form.querySelector("[data-finish]") || form.querySelector("[type=submit]");
    var reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
    var timer = null;
    var tick = null;
    var breaths = 0;
    var startedAt = 0;
    var totalSeconds = 0;

    pacer.hidden = false;
    if (manual) { manual.classList.add("enhanced"); }
    var labels = {
      inhale: pacer.getAttribute("data-label-inhale"),
      hold: pacer.getAttribute("data-label-hold"),
      exhale: pacer.getAttribute("data-label-exhale"),
      done: pacer.getAttribute("data-label-done")
    };

    function still() { return reduced.matches; }

    function announce(text) {
      live.textContent = text;
    }

    function showPhase(name, seconds) {
      phaseText.textContent = labels[name];
      announce(labels[name]);
      circle.classList.remove("inhale", "hold", "exhale");
      if (!still()) {
        circle.style.transitionDuration = seconds + "s";
        circle.classList.add(name);
      }
      var left = seconds;
      countText.textContent = String(left);
      clearInterval(tick);
      tick = setInterval(function () {
        left -= 1;
        if (left > 0) { countText.textContent = String(left); }
        var elapsed = Math.floor((Date.now() - startedAt) / 1000);
        var rest = Math.max(0, totalSeconds - elapsed);
        remainingText.textContent = Math.floor(rest / 60) + ":" + String(rest % 60).padStart(2, "0");
      }, 1000);
    }

    function cycle() {
      var elapsed = (Date.now() - startedAt) / 1000;
      if (elapsed >= totalSeconds) { finish(); return; }
      showPhase("inhale", inhale);
      timer = setTimeout(function () {
        if (hold > 0) {
          showPhase("hold", hold);
          timer = setTimeout(out, hold * 1000);
        } else {
          out();
        }
      }, inhale * 1000);
      function out() {
        showPhase("exhale", exhale);
        timer = setTimeout(function () { breaths += 1; cycle(); }, exhale * 1000);
      }
    }

    function finish() {
      clearTimeout(timer);
      clearInterval(tick);
      var elapsed = Math.max(1, Math.round((Date.now() - startedAt) / 1000));
      circle.classList.remove("inhale", "hold", "exhale");
      phaseText.textContent = labels.done;
      countText.textContent = "";
      announce(labels.done);
      if (minutesField) { minutesField.value = String(Math.min(10, Math.max(1, Math.ceil(elapsed / 60)))); }
      if (breathsField) { breathsField.value = String(breaths); }
      startButton.hidden = false;
      stopButton.hidden = true;
      startButton.disabled = false;
      if (submit) {
        submit.hidden = false;
        submit.focus();
      }
    }

    // Before starting, the time left is the time chosen.
    function showChosen() {
      if (startedAt && startButton.hidden) { return; }
      var chosen = parseInt(minutesField && minutesField.value, 10) || 5;
      remainingText.textContent = chosen + ":00";
    }
    if (minutesField) { minutesField.addEventListener("change", showChosen); }
    showChosen();

    startButton.addEventListener("click", function () {
      var chosen = parseInt(minutesField && minutesField.value, 10) || 5;
      totalSeconds = chosen * 60;
      breaths = 0;
      startedAt = Date.now();
      startButton.hidden = true;
      stopButton.hidden = false;
      if (submit) { submit.hidden = true; }
      stopButton.focus();
      if (window.Trellis && window.Trellis.markStarted) { window.Trellis.markStarted(form); }
      cycle();
    });
    stopButton.addEventListener("click", finish);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-player=paced_breathing]").forEach(setup);
  });
})();
