// Compose page: the recipients are counted as they are chosen, by the server (the same
// numbers as the confirm page), and shown in a live region screen readers announce.
(function () {
  var form = document.querySelector("form[data-audience-count]");
  var box = document.getElementById("audience-count");
  if (!form || !box) { return; }
  var url = form.getAttribute("data-audience-count");
  var names = ["account", "mode", "classes", "students", "guardians", "users", "profiles",
               "addresses"];
  var timer = null;
  var sent = 0;
  function refresh() {
    var data = new FormData();
    var all = new FormData(form);
    all.forEach(function (value, name) {
      if (names.indexOf(name) !== -1 || name === "csrfmiddlewaretoken") { data.append(name, value); }
    });
    var ticket = ++sent;
    fetch(url, {method: "POST", body: data, credentials: "same-origin",
                headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null && ticket === sent) { box.innerHTML = html; } })
      .catch(function () {});
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 250); }
  form.addEventListener("change", function (event) {
    if (names.indexOf(event.target.name) !== -1) { later(); }
  });
  form.addEventListener("input", function (event) {
    if (event.target.name === "addresses") { later(); }
  });
  form.addEventListener("audience:change", later);  // a chip added or removed (audience-picker.js)
  refresh();
})();
