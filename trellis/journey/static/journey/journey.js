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
