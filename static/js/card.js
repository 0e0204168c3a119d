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
        return r.json().catch(function () { return {}; }).then(function (body) {
          body.httpStatus = r.status;
          return body;
        });
      });
    },
    // Told to wait (429), blocked (429) or paused (503): say why, in the
    // page's language, and give the button back once waiting is over.
    // True when the answer was one of those.
    held: function (body) {
      if (body.httpStatus !== 429 && body.httpStatus !== 503) return false;
      var self = this;
      self.say(body.message || form.dataset.msgWait, true);
      var seconds = parseInt(body.retry_after, 10);
      if (body.status === "slow" && seconds > 0) {
        window.setTimeout(function () {
          self.button.disabled = false;
          self.say(form.dataset.msgAgain || "");
        }, seconds * 1000);
      }
      return true;
    }
  };
};
