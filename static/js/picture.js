// The mailing page's picture (how it went, why recipients failed), loaded apart from the page
// so that the page itself never reads the mailing's recipients; refreshed while it sends.
(function () {
  "use strict";
  var box = document.getElementById("mailing-picture-body");
  if (!box || !window.fetch) { return; }
  function load() {
    fetch(box.dataset.url, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) { box.innerHTML = html; }
        if (box.dataset.active === "1") { window.setTimeout(load, 15000); }
      })
      .catch(function () {});
  }
  load();
})();
