// Card step of a gift: token from Stripe, then our server charges it.
(function () {
  "use strict";
  var form = document.getElementById("pay");
  if (!form || typeof Stripe === "undefined") return;
  var ui = window.fundraiserCard(form);

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (ui.button.disabled) return;          // a double click sends one payment
    ui.button.disabled = true;
    ui.say(form.dataset.msgWorking);
    try {
      var made = await ui.stripe.createToken(ui.card);
      if (made.error || !made.token) {
        ui.say((made.error && made.error.message) || form.dataset.msgCard, true);
        ui.button.disabled = false;
        return;
      }
      var res = await ui.post(form.dataset.chargeUrl, { token: made.token.id });
      if (ui.held(res)) return;
      if (res.status === "invalid") {
        ui.say(res.message, true);
        ui.button.disabled = false;
        return;
      }
      if (res.status === "requires_action" && res.client_secret) {
        ui.say(form.dataset.msg3ds);
        // Whatever the browser reports, the server asks Stripe what is true.
        await ui.stripe.confirmCardPayment(res.client_secret);
        res = await ui.post(form.dataset.confirmUrl, {});
        if (ui.held(res)) return;
      }
      window.location.assign(res.next || window.location.href);
    } catch (err) {
      ui.say(form.dataset.msgNetwork, true);
      ui.button.disabled = false;
    }
  });
})();
