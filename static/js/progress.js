// The appeal page, live: every 15 seconds (never from a hidden tab) it asks
// the progress JSON (/api/v1/appeals/<slug>, DESIGN.md §6) again and shows
// the new total, bar, figures and the total in the second currency ("about
// ₪40,300"), hiding that line when the JSON has none. Plain JS; the server
// computes every figure, this only formats them as the page does.
(function () {
  "use strict";
  var goal = document.querySelector(".goal[data-api-url]");
  if (!goal || !window.fetch || !window.Intl) return;
  var url = goal.getAttribute("data-api-url");
  var lang = document.documentElement.lang || "en";
  var rtl = document.documentElement.dir === "rtl";
  var formats = {};

  // Minor units as the server writes them (fundraiser/money.py): a whole
  // amount without its zero fraction, and in a right-to-left page a mark
  // after a symbol with letters, so "US$" does not show as "$US".
  function money(minor, currency) {
    if (!formats[currency]) {
      var full = new Intl.NumberFormat(lang, { style: "currency", currency: currency });
      formats[currency] = {
        full: full,
        whole: new Intl.NumberFormat(lang, { style: "currency", currency: currency,
                                            minimumFractionDigits: 0, maximumFractionDigits: 0 }),
        places: full.resolvedOptions().maximumFractionDigits
      };
    }
    var f = formats[currency];
    var major = minor / Math.pow(10, f.places);
    var text = (minor % Math.pow(10, f.places) === 0 ? f.whole : f.full).format(major);
    return rtl ? text.replace(/[A-Za-z]+\S*/, function (m) { return m + "\u200e"; }) : text;
  }

  function field(name) { return goal.querySelector('[data-field="' + name + '"]'); }

  function setText(name, text) {
    var el = field(name);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function show(body) {
    var c = body.currency;
    if (typeof body.total_minor !== "number" || typeof c !== "string") return;
    setText("total", money(body.total_minor, c));
    setText("raised", money(body.raised_minor, c));
    setText("matched", money(body.matched_minor, c));
    setText("donors", new Intl.NumberFormat(lang).format(body.donor_count));
    if (body.goal_minor > 0) {
      var raised = Math.min(100, Math.floor(body.raised_minor * 100 / body.goal_minor));
      var all = Math.min(100, Math.floor(body.total_minor * 100 / body.goal_minor));
      var bar = field("raised-bar"), matched = field("matched-bar");
      if (bar) bar.setAttribute("width", raised);
      if (matched) { matched.setAttribute("x", raised); matched.setAttribute("width", all - raised); }
    }
    var about = field("about");
    var template = about && about.getAttribute("data-template");
    if (!template) return;
    var second = body.second_currency;
    if (second && typeof second.about_minor === "number") {
      var text = template.replace("{amount}", money(second.about_minor, second.currency));
      if (about.textContent !== text) about.textContent = text;
      about.hidden = false;
    } else {
      about.hidden = true;
    }
  }

  function poll() {
    if (document.hidden) return;
    fetch(url, { credentials: "omit", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) show(body); })
      .catch(function () { /* the figures stay as they are until the next poll */ });
  }

  window.setInterval(poll, 15000);
  document.addEventListener("visibilitychange", poll);
})();
