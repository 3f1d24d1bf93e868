// The body editor's "Insert a variable" menu (compose and template pages): a native select
// and a button, usable with the keyboard alone, inserting the chosen variable as a chip where
// the cursor is. The editor itself is django-prose-editor's (see merge-variables.js).
(function () {
  var editors = {};
  var source = document.getElementById("editor-labels");
  var labels = source ? JSON.parse(source.textContent) : {};
  // The toolbar's labels, translated (the editor writes them in English): again whenever the
  // editor redraws a button, as it does for the block-type menu when the cursor moves.
  function translate(root) {
    root.querySelectorAll("[title]").forEach(function (button) {
      var label = labels[button.getAttribute("title")];
      if (label) { button.setAttribute("title", label); button.setAttribute("aria-label", label); }
    });
    root.querySelectorAll(".prose-menubar__option > *").forEach(function (option) {
      var label = labels[option.textContent];
      if (label) { option.textContent = label; }
    });
  }
  function setup(textarea, editor) {
    if (!textarea || editors[textarea.id]) { return; }
    editors[textarea.id] = editor;
    // The editable area takes the field's label and help, as the textarea had them.
    var area = editor.view.dom;
    var label = document.querySelector("label[for='" + textarea.id + "']");
    if (label) {
      area.setAttribute("aria-label", label.textContent.replace(/\s*:\s*$/, ""));
      label.addEventListener("click", function () { editor.commands.focus(); });
    }
    if (textarea.getAttribute("aria-describedby")) {
      area.setAttribute("aria-describedby", textarea.getAttribute("aria-describedby"));
    }
    area.setAttribute("aria-multiline", "true");
    var wrapper = textarea.closest(".prose-editor") || textarea.parentNode;
    translate(wrapper);
    new MutationObserver(function () { translate(wrapper); }).observe(
      wrapper, {subtree: true, childList: true, attributes: true, attributeFilter: ["title"]});
    var menu = document.querySelector("[data-variables-for='" + textarea.id + "']");
    if (menu) { menu.hidden = false; }
  }
  // The editor announces itself (merge-variables.js) before or after this script runs.
  function ready(event) { setup(event.detail.textarea, event.detail.editor); }
  document.addEventListener("prose-editor:ready", ready);
  document.addEventListener("eduka:editor", ready);
  var known = window.edukaEditors || {};
  Object.keys(known).forEach(function (id) { setup(document.getElementById(id), known[id]); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-insert-variable]");
    if (!button) { return; }
    var menu = button.closest("[data-variables-for]");
    var editor = editors[menu.getAttribute("data-variables-for")];
    var select = menu.querySelector("select");
    if (!editor || !select.value) { return; }
    editor.chain().focus().insertVariable(select.value).insertContent(" ").run();
  });
})();
