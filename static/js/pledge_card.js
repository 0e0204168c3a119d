// Saving a card for a friend-match pledge: the card goes from the browser to
// Stripe (confirmCardSetup); our server then asks Stripe whether it was saved.
(function () {
  "use strict";
  var form = document.getElementById("save-card");
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

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    say(form.dataset.msgWorking);
    try {
      var done = await stripe.confirmCardSetup(form.dataset.clientSecret,
                                               { payment_method: { card: card } });
      if (done && done.error && done.error.message) {
        say(done.error.message, true);
        button.disabled = false;
        return;
      }
      var r = await fetch(form.dataset.confirmUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: "{}"
      });
      var body = await r.json().catch(function () { return {}; });
      if (body.status === "active" && body.next) {
        window.location.assign(body.next);
        return;
      }
      say(body.message || form.dataset.msgCard, true);
      button.disabled = false;
    } catch (err) {
      say(form.dataset.msgNetwork, true);
      button.disabled = false;
    }
  });
})();
