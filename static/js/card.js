// Shared by the card steps (a gift, saving a card for a pledge): mounts
// Stripe's card element in #card-element and gives the small helpers each
// page needs. The card number goes from the browser to Stripe, never to us.
window.fundraiserCard = function (form) {
  "use strict";
  var statusBox = document.getElementById("pay-status");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var stripe = Stripe(form.dataset.key);
  var card = stripe.elements().create("card", { hidePostalCode: false });
  card.mount("#card-element");
  return {
    stripe: stripe,
    card: card,
    button: document.getElementById("pay-button"),
    say: function (text, isError) {
      statusBox.textContent = text || "";
      statusBox.classList.toggle("is-error", !!isError);
    },
    post: function (url, body) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body || {})
      }).then(function (r) {
        return r.json().catch(function () { return {}; });
      });
    }
  };
};
