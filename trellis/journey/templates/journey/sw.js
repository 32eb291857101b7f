/* Trellis service worker. It keeps the app shell (styles, scripts, icons and the offline
 * page) so the app opens quickly and says so kindly when there is no connection.
 * It never stores a page or an answer with patient data: those always come from the network. */
"use strict";

var CACHE = "trellis-shell-{{ version }}";
var SHELL = {{ shell_json|safe }};
var OFFLINE = {{ offline_json|safe }};

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("trellis-shell-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (SHELL.indexOf(url.pathname) !== -1) {
    // A shell file: from the cache, else the network (never written back from here).
    event.respondWith(
      caches.match(request, { ignoreSearch: true }).then(function (hit) {
        return hit || fetch(request);
      })
    );
    return;
  }
  if (request.mode === "navigate") {
    // Pages always come from the network; only when that fails, the offline page.
    event.respondWith(
      fetch(request).catch(function () { return caches.match(OFFLINE); })
    );
  }
  // Everything else goes straight to the network and is never cached.
});

// Web push (docs/nudges-push.md). A notification says only that something new is waiting
// (title and body come from Trellis, never with health details); a tap opens its link on
// this site, which records the nudge as opened and goes on to the page it is about.
var ICON = SHELL.filter(function (path) { return path.indexOf("icon-192") !== -1; })[0];

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "Trellis", {
    body: data.body || "",
    icon: ICON,
    data: { url: data.url || "/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/",
    self.location.origin);
  if (target.origin !== self.location.origin) { target = new URL("/", self.location.origin); }
  event.waitUntil(self.clients.openWindow(target.href));
});
