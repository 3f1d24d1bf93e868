// The SMS account form: only the chosen provider's credentials are shown (without this
// script every provider's fields show, each named with its provider, and only the chosen
// provider's are used).
(function () {
  "use strict";
  const form = document.getElementById("sms-account-form");
  if (!form) return;
  function sync() {
    const chosen = form.querySelector("input[name=sms_provider]:checked");
    form.querySelectorAll("[data-provider]").forEach(function (input) {
      const field = input.closest(".field") || input.parentElement;
      field.hidden = !chosen || input.dataset.provider !== chosen.value;
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "sms_provider") sync();
  });
  sync();
})();
