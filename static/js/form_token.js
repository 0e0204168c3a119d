// The shared appeal page carries no CSRF token, so one copy serves every
// reader and sets no cookie. A donor's browser fetches their own token when
// they start on the form, or at the latest when they send it; if that fails
// the form goes anyway and the server shows it again with a token.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var pending = null;

  function token(url) {
    if (!pending) {
      pending = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("form token: " + response.status);
          return response.json();
        })
        .then(function (body) {
          if (meta) meta.content = body.token;
          return body.token;
        })
        .catch(function () {
          pending = null;  // asked again on the next try
          return "";
        });
    }
    return pending;
  }

  document.querySelectorAll("form[data-token-url]").forEach(function (form) {
    var field = form.querySelector('input[name="csrf_token"]');
    if (!field || field.value || !window.fetch) return;
    var url = form.dataset.tokenUrl;
    form.addEventListener("focusin", function () {
      token(url).then(function (value) { if (value && !field.value) field.value = value; });
    }, { once: true });
    form.addEventListener("submit", function (event) {
      if (field.value) return;
      event.preventDefault();
      token(url).then(function (value) {
        if (value) field.value = value;
        form.submit();  // no submit event again: sent once
      });
    });
  });
})();
