/* Trellis patient pages: small enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Character counters: <textarea data-counter="ID" maxlength="N"> updates #ID.
  function wireCounters(root) {
    root.querySelectorAll("textarea[data-counter]").forEach(function (area) {
      var out = document.getElementById(area.getAttribute("data-counter"));
      var max = parseInt(area.getAttribute("maxlength") || "0", 10);
      if (!out) { return; }
      function update() {
        var used = area.value.length;
        out.textContent = max ? used + " / " + max : String(used);
        out.classList.toggle("near-limit", max > 0 && used > max * 0.9);
      }
      area.addEventListener("input", update);
      update();
    });
  }

  // A form is sent once per click: the second quick tap does nothing. The server
  // would count a repeat only once anyway (the form carries a client id).
  function wireSingleSubmit(root) {
    root.querySelectorAll("form[data-single-submit]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sent") === "yes") {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-sent", "yes");
      });
    });
  }

  // Install the app shell for offline use. Pages with patient data are never cached.
  function registerServiceWorker() {
    var meta = document.querySelector("meta[name=trellis-service-worker]");
    var url = meta && meta.getAttribute("content");
    if (!url || !("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register(url, { scope: "/" }).catch(function () { /* optional */ });
  }

  window.Trellis = window.Trellis || {};
  // Players tell the server when the patient begins (a "started" event), and never wait for it.
  window.Trellis.markStarted = function (form) {
    var url = form.getAttribute("data-start-url");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (!url || !token || form.getAttribute("data-started") === "yes") { return; }
    form.setAttribute("data-started", "yes");
    var body = new URLSearchParams();
    body.set("csrfmiddlewaretoken", token.value);
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).catch(function () { /* the completion still counts without it */ });
  };
  // Seconds since the player began, written into the form's duration field.
  window.Trellis.startClock = function (form) {
    var started = Date.now();
    var field = form.querySelector("input[name=duration_s]");
    form.addEventListener("submit", function () {
      if (field && !field.value) {
        field.value = String(Math.max(1, Math.round((Date.now() - started) / 1000)));
      }
    });
  };

  // One screen at a time, with Back and Next, for a player whose parts would otherwise all
  // be on one page (grounding's senses, the thought record's boxes). Without this script
  // every part shows and the form is sent the same way.
  //   screens: the parts, in order; nav: holds [data-back], [data-next] and [data-position]
  //   (its data-template has %(n)s and %(total)s); finish: shown only on the last screen;
  //   focusTarget(screen): what gets focus when the patient moves to a screen.
  // The form keeps every field, so what was typed on other screens is sent too.
  window.Trellis.stepThrough = function (options) {
    var screens = options.screens;
    var nav = options.nav;
    var back = nav.querySelector("[data-back]");
    var next = nav.querySelector("[data-next]");
    var position = nav.querySelector("[data-position]");
    var finish = options.finish || null;
    var last = screens.length - 1;
    var current = 0;

    function show(index, moveFocus) {
      current = Math.max(0, Math.min(last, index));
      screens.forEach(function (screen, i) { screen.hidden = i !== current; });
      back.hidden = current === 0;
      next.hidden = current === last;
      if (finish) { finish.hidden = current !== last; }
      if (position) {
        position.textContent = position.getAttribute("data-template")
          .replace("%(n)s", String(current + 1))
          .replace("%(total)s", String(screens.length));
      }
      if (moveFocus && options.focusTarget) {
        var target = options.focusTarget(screens[current]);
        if (target) {
          if (!target.matches("input, textarea, select, button, a[href]")) {
            target.setAttribute("tabindex", "-1");
          }
          target.focus();
        }
      }
    }

    function screenOf(element) {
      for (var i = 0; i < screens.length; i += 1) {
        if (screens[i].contains(element)) { return i; }
      }
      return -1;
    }

    back.addEventListener("click", function () { show(current - 1, true); });
    next.addEventListener("click", function () {
      if (options.beforeNext && !options.beforeNext(screens[current])) { return; }
      show(current + 1, true);
    });
    // Enter in a one-line box moves on instead of sending a half-filled form.
    screens.forEach(function (screen) {
      screen.addEventListener("keydown", function (event) {
        var field = event.target;
        if (event.key !== "Enter" || current === last || !field.matches("input")) { return; }
        event.preventDefault();
        next.click();
      });
    });
    // A link to a field on another screen (the error summary) opens that screen.
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[href^='#']");
      if (!link) { return; }
      var target = document.getElementById(link.getAttribute("href").slice(1));
      var index = target ? screenOf(target) : -1;
      if (index >= 0) { show(index, false); }
    });

    // Finish sits beside Back on the last screen (without this script it ends the form).
    if (finish) { nav.appendChild(finish); }
    nav.hidden = false;
    // After a refused form, open the first screen that has something to fix.
    var invalid = screens.filter(function (screen) {
      return screen.querySelector("[aria-invalid=true], .field-error");
    })[0];
    show(invalid ? screens.indexOf(invalid) : 0, false);
    return { show: show, current: function () { return current; } };
  };

  // Any player form: the clock runs from page load; the first touch counts as "started".
  function wirePlayerForms(root) {
    root.querySelectorAll("form.player-form").forEach(function (form) {
      window.Trellis.startClock(form);
      // Typing an answer or pressing a player's own button counts; pressing Finish does
      // not (it completes the step, and a "started" sent alongside could race it).
      function first(event) {
        if (event.type === "click" && !(event.target.closest && event.target.closest("button[type=button]"))) {
          return;
        }
        window.Trellis.markStarted(form);
        form.removeEventListener("input", first);
        form.removeEventListener("click", first);
      }
      form.addEventListener("input", first);
      form.addEventListener("click", first);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireCounters(document);
    wirePlayerForms(document);
    wireSingleSubmit(document);
    registerServiceWorker();
  });
})();
