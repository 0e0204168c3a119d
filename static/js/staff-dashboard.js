// Staff dashboard: refresh the figures and the latest gifts without a reload.
// Same-origin JSON, DOM built with textContent (never innerHTML).
(function () {
  "use strict";
  var box = document.getElementById("figures");
  var list = document.getElementById("recent-gifts");
  if (!box || !list) { return; }
  var url = box.getAttribute("data-poll-url");
  var delay = 5000;

  function updateFigures(figures) {
    figures.forEach(function (f) {
      var block = box.querySelector('.figures[data-currency="' + f.currency + '"]');
      if (!block) { return; }
      ["raised", "matched", "total", "donors", "gifts", "average", "median"].forEach(function (k) {
        var el = block.querySelector('[data-figure="' + k + '"]');
        if (el && el.textContent !== String(f[k])) { el.textContent = f[k]; }
      });
      var bar = block.querySelector('[data-figure="percent"]');
      if (bar) { bar.value = f.percent; bar.textContent = f.percent + "%"; }
    });
  }

  // Monthly and yearly gifts: the figures of each currency, and a block
  // (from the page's <template>, labels translated) for a currency's first.
  var recurring = document.getElementById("recurring-figures");
  var blank = document.getElementById("recurring-block");
  function updateRecurring(rows) {
    if (!recurring || !blank || !rows) { return; }
    rows.forEach(function (r) {
      var block = recurring.querySelector('[data-recurring-currency="' + r.currency + '"]');
      if (!block) {
        block = blank.content.firstElementChild.cloneNode(true);
        block.setAttribute("data-recurring-currency", r.currency);
        block.querySelector("h3").textContent = r.currency;
        recurring.appendChild(block);
        var none = document.getElementById("no-recurring");
        if (none) { none.remove(); }
      }
      ["recurring-month", "monthly-donors", "yearly-donors", "canceled-month"].forEach(function (k) {
        var el = block.querySelector('[data-figure="' + k + '"]');
        if (el && el.textContent !== String(r[k])) { el.textContent = r[k]; }
      });
    });
  }

  function updateGifts(gifts) {
    var items = gifts.map(function (g) {
      var li = document.createElement("li");
      li.setAttribute("data-id", g.id);
      var a = document.createElement("a");
      a.href = g.url;
      var name = document.createElement("bdi");
      name.textContent = g.name;
      a.appendChild(name);
      li.appendChild(a);
      li.appendChild(document.createTextNode(" · " + g.amount + " · " + g.status_label + " · "));
      var muted = document.createElement("span");
      muted.className = "muted";
      var title = document.createElement("bdi");
      title.textContent = g.appeal;
      muted.appendChild(title);
      muted.appendChild(document.createTextNode(" · " + g.at));
      li.appendChild(muted);
      return li;
    });
    var before = Array.prototype.map.call(list.children, function (li) { return li.textContent; }).join("|");
    var after = items.map(function (li) { return li.textContent; }).join("|");
    if (items.length && before !== after) {
      list.replaceChildren.apply(list, items);
    }
  }

  function poll() {
    if (document.hidden) {  // a background tab costs the database nothing
      window.setTimeout(poll, delay);
      return;
    }
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        updateFigures(data.figures); updateGifts(data.gifts); updateRecurring(data.recurring);
        delay = 5000;
      })
      .catch(function () { delay = Math.min(delay * 2, 60000); })
      .then(function () { window.setTimeout(poll, delay); });
  }
  window.setTimeout(poll, delay);
}());
