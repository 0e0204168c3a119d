// A pledge's closing charge that the pledger's bank wants confirmed: our
// server readies the existing PaymentIntent, Stripe.js runs 3-D Secure, and
// the server then asks Stripe what is true (never the browser's word alone).
(function () {
  "use strict";
  var form = document.getElementById("pledge-auth");
  if (!form || typeof Stripe === "undefined") return;
  var stripe = Stripe(form.dataset.key);
  var button = document.getElementById("pay-button");
  var statusBox = document.getElementById("pay-status");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function say(text, isError) {
    statusBox.textContent = text || "";
    statusBox.classList.toggle("is-error", !!isError);
  }

  function post(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: "{}"
    }).then(function (r) { return r.json().catch(function () { return {}; }); });
  }

  function done(body) {
    if (body.status === "succeeded") {
      say(body.message);
      button.remove();                        // charged: nothing left to press
      return;
    }
    say(body.message || form.dataset.msgNetwork, true);
    button.disabled = false;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (button.disabled) return;              // one attempt at a time
    button.disabled = true;
    say(form.dataset.msgWorking);
    try {
      var ready = await post(form.dataset.startUrl);
      if (ready.status !== "requires_action" || !ready.client_secret) {
        done(ready);
        return;
      }
      await stripe.confirmCardPayment(ready.client_secret);
      done(await post(form.dataset.finishUrl));
    } catch (err) {
      say(form.dataset.msgNetwork, true);
      button.disabled = false;
    }
  });
})();
