// Compose page: the message as one recipient of the audience will get it, rendered by the
// server from the form as it is (nothing saved), at a computer's or a phone's width.
(function () {
  var form = document.querySelector("form[data-compose-preview]");
  var box = document.getElementById("compose-preview");
  if (!form || !box) { return; }
  var url = form.getAttribute("data-compose-preview");
  var skip = ["attachments", "compose_token"];
  var timer = null;
  var sent = 0;
  var width = "desktop";
  function applyWidth() {
    var frame = box.querySelector("iframe");
    if (frame) { frame.classList.toggle("preview-phone", width === "phone"); }
  }
  function refresh() {
    var data = new FormData();
    new FormData(form).forEach(function (value, name) {
      if (skip.indexOf(name) === -1) { data.append(name, value); }
    });
    var ticket = ++sent;
    fetch(url, {method: "POST", body: data, credentials: "same-origin",
                headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || ticket !== sent) { return; }
        var focused = document.activeElement && document.activeElement.id === "preview-recipient";
        box.innerHTML = html;
        applyWidth();
        if (focused) { document.getElementById("preview-recipient").focus(); }
      })
      .catch(function () {});
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 500); }
  form.addEventListener("change", function (event) {
    if (event.target.name !== "attachments") { later(); }
  });
  form.addEventListener("input", function (event) {
    if (event.target.name === "subject" || event.target.name === "addresses") { later(); }
  });
  form.addEventListener("audience:change", later);
  var watched = [];
  function watch(editor) {
    if (watched.indexOf(editor) === -1) { watched.push(editor); editor.on("update", later); }
  }
  function ready(event) { watch(event.detail.editor); }
  document.addEventListener("prose-editor:ready", ready);
  document.addEventListener("eduka:editor", ready);  // merge-variables.js, maybe earlier
  var known = window.edukaEditors || {};
  Object.keys(known).forEach(function (id) { watch(known[id]); });
  form.querySelectorAll("[data-preview-width]").forEach(function (button) {
    button.addEventListener("click", function () {
      width = button.getAttribute("data-preview-width");
      form.querySelectorAll("[data-preview-width]").forEach(function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      applyWidth();
    });
  });
  form.querySelector("[data-preview-refresh]").addEventListener("click", refresh);
  refresh();
})();
