// Card step of a gift. The card number goes from the browser to Stripe
// (stripe.createToken); our server only ever sees the token.
(function () {
  "use strict";
  var form = document.getElementById("pay");
  if (!form || typeof Stripe === "undefined") return;
  var statusBox = document.getElementById("pay-status");
  var button = document.getElementById("pay-button");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var stripe = Stripe(form.dataset.key);
  var card = stripe.elements().create("card", { hidePostalCode: false });
  card.mount("#card-element");

  function say(text, isError) {
    statusBox.textContent = text || "";
    statusBox.classList.toggle("is-error", !!isError);
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; });
    });
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (button.disabled) return;          // a double click sends one payment
    button.disabled = true;
    say(form.dataset.msgWorking);
    try {
      var made = await stripe.createToken(card);
      if (made.error || !made.token) {
        say((made.error && made.error.message) || form.dataset.msgCard, true);
        button.disabled = false;
        return;
      }
      var res = await post(form.dataset.chargeUrl, { token: made.token.id });
      if (res.status === "invalid") {
        say(res.message, true);
        button.disabled = false;
        return;
      }
      if (res.status === "requires_action" && res.client_secret) {
        say(form.dataset.msg3ds);
        // Whatever the browser reports, the server asks Stripe what is true.
        await stripe.confirmCardPayment(res.client_secret);
        res = await post(form.dataset.confirmUrl, {});
      }
      window.location.assign(res.next || window.location.href);
    } catch (err) {
      say(form.dataset.msgNetwork, true);
      button.disabled = false;
    }
  });
})();
