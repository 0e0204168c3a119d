// The thank-you page shows the payment's real state; while it is not final,
// ask the server again (the webhook or reconcile settles it).
(function () {
  "use strict";
  var root = document.getElementById("thanks");
  if (!root) return;
  var waiting = ["processing", "requires_action", "created"];
  if (waiting.indexOf(root.dataset.status) < 0) return;
  var tries = 0;
  function poll() {
    tries += 1;
    fetch(root.dataset.statusUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (waiting.indexOf(s.status) < 0) {
          window.location.reload();
        } else if (tries < 60) {
          setTimeout(poll, Math.min(2000 + tries * 500, 10000));
        }
      })
      .catch(function () { if (tries < 60) setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
