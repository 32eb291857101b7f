/* "Get reminders on this device": subscribes this browser to web push through Trellis's
 * service worker and hands the subscription to Trellis (docs/nudges-push.md).
 * The box stays hidden where the browser cannot take push notifications. */
(function () {
  "use strict";

  var box = document.getElementById("push-device");
  if (!box) { return; }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return;
  }

  var on = box.querySelector("[data-push-on]");
  var off = box.querySelector("[data-push-off]");
  var status = box.querySelector("[data-push-status]");
  var token = box.querySelector("input[name=csrfmiddlewaretoken]");
  var publicKey = null;

  function text(name) { return box.getAttribute("data-" + name + "-text") || ""; }

  function show(subscribed, message) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    status.textContent = message;
  }

  function bytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function sameKey(subscription) {
    var key = subscription.options && subscription.options.applicationServerKey;
    if (!key) { return true; }
    var mine = bytes(publicKey);
    var theirs = new Uint8Array(key);
    if (mine.length !== theirs.length) { return false; }
    for (var i = 0; i < mine.length; i += 1) {
      if (mine[i] !== theirs[i]) { return false; }
    }
    return true;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": token ? token.value : "",
        "X-Requested-With": "fetch"
      },
      body: JSON.stringify(body)
    });
  }

  function worker() {
    var url = box.getAttribute("data-worker-url");
    return navigator.serviceWorker.register(url, { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    });
  }

  // Trellis keeps the subscription: 201 new, 200 known; 409 someone else's device.
  function store(subscription) {
    return post(box.getAttribute("data-subscribe-url"), subscription.toJSON()).then(function (r) {
      if (r.status === 200 || r.status === 201) { show(true, text("on")); return; }
      if (r.status === 409) { show(false, text("taken")); return; }
      show(false, text("failed"));
    });
  }

  // This device's subscription under Trellis's current key (one made with an older key
  // is dropped and made again), handed to Trellis.
  function subscribeHere() {
    return worker().then(function (registration) {
      return registration.pushManager.getSubscription().then(function (existing) {
        if (existing && !sameKey(existing)) {
          return existing.unsubscribe().then(function () { return null; });
        }
        return existing;
      }).then(function (existing) {
        return existing || registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: bytes(publicKey)
        });
      });
    }).then(store);
  }

  function subscribe() {
    on.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { show(false, text("denied")); return null; }
      return subscribeHere();
    }).catch(function () {
      show(false, text("failed"));
    }).then(function () { on.disabled = false; });
  }

  function unsubscribe() {
    off.disabled = true;
    worker().then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) { return null; }
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return post(box.getAttribute("data-unsubscribe-url"), { endpoint: endpoint });
      });
    }).then(function () {
      show(false, text("off"));
    }).catch(function () {
      show(true, text("failed"));
    }).then(function () { off.disabled = false; });
  }

  // Show the box only once Trellis has a key to send with; a device already subscribed
  // hands its subscription over again (a browser may have renewed its keys), made afresh
  // if it was made with an older Trellis key.
  fetch(box.getAttribute("data-key-url"), { credentials: "same-origin" }).then(function (r) {
    return r.ok ? r.json() : null;
  }).then(function (answer) {
    if (!answer || !answer.publicKey) { return; }
    publicKey = answer.publicKey;
    on.addEventListener("click", subscribe);
    off.addEventListener("click", unsubscribe);
    box.hidden = false;
    show(false, "");
    if (Notification.permission !== "granted") { return; }
    return worker().then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) { return null; }
      return sameKey(subscription) ? store(subscription) : subscribeHere();
    });
  }).catch(function () { /* the box stays as it is; reminders still come by other ways */ });
})();
