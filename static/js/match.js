// Matching, live: the preview of what a gift will unlock (appeal page and
// card page) and the figures on the public match ledger. Plain JS; the
// server computes everything, this only asks again and shows the answer.
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  // -- appeal page: preview for the chosen amount ---------------------------
  var form = document.getElementById("give-form");
  var note = document.getElementById("match-preview");
  if (form && note && form.dataset.previewUrl) {
    var timer = null;
    var last = "";
    var chosenAmount = function () {
      var picked = form.querySelector('input[name="amount"]:checked');
      if (!picked || picked.value === "other") {
        var other = form.querySelector('input[name="other_amount"]');
        return other ? other.value.trim() : "";
      }
      return picked.value;
    };
    var refresh = function () {
      var amount = chosenAmount();
      if (!amount || amount === last) return;
      last = amount;
      var source = form.querySelector('input[name="source"]');
      var currency = form.querySelector('input[name="currency"]');
      var url = form.dataset.previewUrl + "?amount=" + encodeURIComponent(amount) +
        (currency && currency.value ? "&currency=" + encodeURIComponent(currency.value) : "") +
        (source && source.value ? "&ref=" + encodeURIComponent(source.value) : "");
      getJSON(url).then(function (body) {
        if (body && typeof body.message === "string") note.textContent = body.message;
      });
    };
    var soon = function () { clearTimeout(timer); timer = setTimeout(refresh, 300); };
    form.addEventListener("change", soon);
    form.addEventListener("input", soon);
  } else if (note && note.dataset.previewUrl) {
    // -- card page: the pool may have run low since the form was filled ----
    var poll = function () {
      getJSON(note.dataset.previewUrl).then(function (body) {
        if (body && body.message && body.message !== note.textContent) {
          note.textContent = body.message;
        }
      });
    };
    setTimeout(poll, 1000);
    setInterval(poll, 30000);
  }

  // -- public match ledger: keep the figures current --------------------------
  var ledger = document.getElementById("match-ledger");
  if (ledger && ledger.dataset.apiUrl) {
    var lang = document.documentElement.lang || "en";
    var fmt = new Intl.NumberFormat(lang, { style: "currency", currency: ledger.dataset.currency });
    var places = fmt.resolvedOptions().maximumFractionDigits;
    var rtl = document.documentElement.dir === "rtl";
    var money = function (minor) {
      var text = fmt.format(minor / Math.pow(10, places));
      // As the server writes it (fundraiser/money.py): in a right-to-left
      // page a mark keeps "US$" from showing as "$US".
      return rtl ? text.replace(/[A-Za-z]+\S*/, function (m) { return m + "\u200e"; }) : text;
    };
    var set = function (row, field, minor) {
      var cell = row && row.querySelector('[data-field="' + field + '"]');
      if (cell && typeof minor === "number") cell.textContent = money(minor);
    };
    var update = function () {
      getJSON(ledger.dataset.apiUrl).then(function (body) {
        if (!body) return;
        set(ledger, "matched", body.matched_minor);
        (body.match_pools || []).forEach(function (p) {
          var row = ledger.querySelector('[data-pool-id="' + p.id + '"]');
          set(row, "allocated", p.allocated_minor);
          set(row, "remaining", p.remaining_minor);
        });
        (body.pledges || []).forEach(function (p) {
          var row = ledger.querySelector('[data-pledge-id="' + p.id + '"]');
          set(row, "allocated", p.unlocked_minor);
          set(row, "remaining", p.remaining_minor);
        });
      });
    };
    setInterval(update, 15000);
  }
})();
