// Saving a card — for a friend-match pledge, or as the card a monthly or
// yearly gift is paid with (donor portal): the card goes from the browser to
// Stripe (confirmCardSetup); our server then asks Stripe whether it was saved
// and answers with the status the form names in data-done-status.
(function () {
  "use strict";
  var form = document.getElementById("save-card");
  if (!form || typeof Stripe === "undefined") return;
  var ui = window.fundraiserCard(form);
  var doneStatus = form.dataset.doneStatus || "active";

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (ui.button.disabled) return;
    ui.button.disabled = true;
    ui.say(form.dataset.msgWorking);
    try {
      var done = await ui.stripe.confirmCardSetup(form.dataset.clientSecret,
                                                  { payment_method: { card: ui.card } });
      if (done && done.error && done.error.message) {
        ui.say(done.error.message, true);
        ui.button.disabled = false;
        return;
      }
      var body = await ui.post(form.dataset.confirmUrl, {});
      if (ui.held(body)) return;
      if (body.status === doneStatus && body.next) {
        window.location.assign(body.next);
        return;
      }
      ui.say(body.message || form.dataset.msgCard, true);
      ui.button.disabled = false;
    } catch (err) {
      ui.say(form.dataset.msgNetwork, true);
      ui.button.disabled = false;
    }
  });
})();
