// Refreshes a mailing's counts without reloading the page (the page works without it).
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || !window.fetch) { return; }
  var opened = Date.now();
  var finished = ["sent", "failed", "skipped", "uncertain", "cancelled", "delivered", "bounced"];
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var done = 0;
        Object.keys(data.counts).forEach(function (key) {
          var cell = box.querySelector('[data-count="' + key + '"]');
          if (cell) { cell.textContent = data.counts[key]; }
          if (finished.indexOf(key) >= 0) { done += data.counts[key]; }
        });
        var bar = document.getElementById("progress-bar");
        bar.max = data.counts.total;
        bar.value = done;
        document.getElementById("mailing-status").textContent = data.status_label;
        if (data.status === "queued" || data.status === "sending") {
          window.setTimeout(refresh, 2000);
        } else if (data.counts.sent > 0 && Date.now() - opened < 600000) {
          // Sent, not yet reported on: delivery receipts (SMS) and reports (e-mail) come in
          // the next minutes; follow them for a while, more slowly.
          window.setTimeout(refresh, 5000);
        }
      })
      .catch(function () { window.setTimeout(refresh, 5000); });
  }
  window.setTimeout(refresh, 1000);
})();
