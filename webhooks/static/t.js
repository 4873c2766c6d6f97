/* Nurture site tracking. Paste before </body>:
 * <script async src="https://YOUR-NURTURE/t.js" data-key="WRITE_KEY"></script>
 * Then: nurture.identify("ana@example.com", {first_name: "Ana"}, userHash); nurture.track("video.played", {id: 7});
 */
(function (w, d) {
  var script = d.currentScript || d.querySelector("script[data-key]");
  var key = script && script.getAttribute("data-key");
  var endpoint = script ? new URL("/track", script.src).toString() : "/track";
  var store = w.localStorage;
  var anon = store && store.getItem("nurture_anon");
  if (!anon) {
    anon = "anon-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    if (store) store.setItem("nurture_anon", anon);
  }
  function send(event) {
    event.anonymous_id = anon;
    event.timestamp = new Date().toISOString();
    fetch(endpoint, {
      method: "POST", keepalive: true, mode: "cors",
      headers: {"Content-Type": "application/json", "X-Nurture-Write-Key": key},
      body: JSON.stringify(event)
    }).catch(function () {});
  }
  var api = {
    page: function () { send({type: "page", url: w.location.href, title: d.title, referrer: d.referrer}); },
    // userHash: HMAC-SHA256 of the email, computed by the store's backend with NURTURE_TRACKING_IDENTITY_SECRET.
    identify: function (email, traits, userHash) {
      send({type: "identify", email: email, traits: traits || {}, user_hash: userHash || undefined});
    },
    track: function (name, properties) { send({type: "track", event: name, properties: properties || {}}); }
  };
  var queued = (w.nurture && w.nurture.q) || [];
  w.nurture = api;
  queued.forEach(function (call) { api[call[0]].apply(null, call.slice(1)); });
  api.page();
})(window, document);
