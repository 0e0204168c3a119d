// Typing an amount selects "Other"; picking a preset clears the typed one.
(function () {
  "use strict";
  var other = document.getElementById("other_amount");
  var otherRadio = document.getElementById("amount-other");
  if (!other || !otherRadio) return;
  other.addEventListener("input", function () {
    if (other.value.trim()) otherRadio.checked = true;
  });
  document.querySelectorAll('input[name="amount"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio !== otherRadio && radio.checked) other.value = "";
    });
  });
})();
