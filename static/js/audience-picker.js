// The compose page's audience picker: a combobox (ARIA 1.2 pattern) searching levels,
// classes, students, guardians and staff on the server as one types, and the chosen items as
// removable chips, each holding the hidden inputs the form posts (classes, students,
// guardians, users). Keyboard: ↓/↑ move, Enter adds, Escape closes; each chip's button removes.
(function () {
  var picker = document.querySelector("[data-audience-search]");
  if (!picker) { return; }
  var url = picker.getAttribute("data-audience-search");
  var input = picker.querySelector("[role=combobox]");
  var list = picker.querySelector("[role=listbox]");
  var chips = picker.querySelector(".chips");
  var empty = picker.querySelector("[data-chips-empty]");
  var form = picker.closest("form");
  var labels = {levels: "", classes: "", students: "", guardians: "", users: ""};
  var removeLabel = list.getAttribute("data-remove") || "";
  var moreLabel = list.getAttribute("data-more") || "";
  var noneLabel = list.getAttribute("data-none") || "";
  // Kinds this composer cannot write to (the SMS composer: staff hold no phone number).
  var left = (picker.getAttribute("data-without") || "").split(",");
  var active = -1;
  var ticket = 0;
  var timer = null;
  var query = "";

  function changed() {
    empty.hidden = chips.children.length > 0;
    form.dispatchEvent(new CustomEvent("audience:change"));
  }
  function chosen(field, ids) {
    return Array.prototype.some.call(chips.children, function (chip) {
      return chip.getAttribute("data-field") === field && chip.getAttribute("data-ids") === ids;
    });
  }
  function options() { return list.querySelectorAll("[role=option]"); }
  function setActive(index) {
    var all = options();
    if (!all.length) { active = -1; input.removeAttribute("aria-activedescendant"); return; }
    active = (index + all.length) % all.length;
    all.forEach(function (option, i) { option.classList.toggle("active", i === active); });
    input.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({block: "nearest"});
  }
  function open(show) {
    list.hidden = !show;
    input.setAttribute("aria-expanded", show ? "true" : "false");
    if (!show) { active = -1; input.removeAttribute("aria-activedescendant"); }
  }
  function addChip(item) {
    var ids = item.ids.join(",");
    if (chosen(item.field, ids)) { return; }
    var chip = document.createElement("li");
    chip.className = "chip";
    chip.setAttribute("data-field", item.field);
    chip.setAttribute("data-ids", ids);
    var label = document.createElement("span");
    label.className = "chip-label";
    label.textContent = item.label;
    chip.appendChild(label);
    if (item.detail) {
      var detail = document.createElement("span");
      detail.className = "chip-detail";
      detail.textContent = item.detail;
      chip.appendChild(document.createTextNode(" "));
      chip.appendChild(detail);
    }
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.setAttribute("aria-label", removeLabel + " " + item.label);
    remove.textContent = "×";
    chip.appendChild(document.createTextNode(" "));
    chip.appendChild(remove);
    item.ids.forEach(function (id) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = item.field;
      hidden.value = id;
      chip.appendChild(hidden);
    });
    chips.appendChild(chip);
    changed();
  }
  function option(item, index) {
    var li = document.createElement("li");
    li.setAttribute("role", "option");
    li.id = "audience-option-" + index;
    li.item = item;
    var ids = item.ids.join(",");
    li.setAttribute("aria-selected", chosen(item.field, ids) ? "true" : "false");
    var label = document.createElement("span");
    label.textContent = item.label;
    li.appendChild(label);
    if (item.detail) {
      var detail = document.createElement("span");
      detail.className = "option-detail";
      detail.textContent = " — " + item.detail;
      li.appendChild(detail);
    }
    return li;
  }
  function more(kind, page) {
    var li = document.createElement("li");
    li.setAttribute("role", "option");
    li.className = "option-more";
    li.more = {kind: kind, page: page};
    li.textContent = moreLabel + " (" + labels[kind] + ")…";
    return li;
  }
  function show(data, append) {
    if (!append) { list.innerHTML = ""; }
    var last = list.querySelector(".option-more.loading");
    if (last) { last.remove(); }
    Object.keys(data.results).forEach(function (kind) {
      if (left.indexOf(kind) !== -1) { return; }
      var section = data.results[kind];
      section.items.forEach(function (item) { list.appendChild(option(item, 0)); });
      if (section.more) { list.appendChild(more(kind, (data.kind ? data.page : 1) + 1)); }
    });
    options().forEach(function (li, i) { li.id = "audience-option-" + i; });
    if (!options().length) {
      var none = document.createElement("li");
      none.className = "option-none";
      none.textContent = noneLabel;
      list.appendChild(none);
    }
    open(true);
  }
  function fetchResults(params, append) {
    var mine = ++ticket;
    var search = new URLSearchParams(params);
    fetch(url + "?" + search.toString(), {credentials: "same-origin",
                                          headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && mine === ticket) { show(data, append); } })
      .catch(function () {});
  }
  function pick(li) {
    if (li.more) {
      li.classList.add("loading");
      var position = Array.prototype.indexOf.call(options(), li);
      fetchResults({q: query, kind: li.more.kind, page: li.more.page}, true);
      active = position - 1;
      return;
    }
    addChip(li.item);
    li.setAttribute("aria-selected", "true");
  }

  Array.prototype.forEach.call(list.parentNode.parentNode.querySelectorAll("[data-kind-label]"),
    function (node) { labels[node.getAttribute("data-kind-label")] = node.textContent; });
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      query = input.value.trim();
      fetchResults({q: query}, false);
    }, 200);
  });
  input.addEventListener("focus", function () {
    if (list.hidden) { query = input.value.trim(); fetchResults({q: query}, false); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (list.hidden) { fetchResults({q: input.value.trim()}, false); } else { setActive(active + 1); }
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive(active - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();  // never submit the form from the search box
      if (!list.hidden && active >= 0) { pick(options()[active]); }
    } else if (event.key === "Escape") {
      if (!list.hidden) { event.preventDefault(); open(false); }
    }
  });
  list.addEventListener("mousedown", function (event) { event.preventDefault(); });
  list.addEventListener("click", function (event) {
    var li = event.target.closest("[role=option]");
    if (li) { pick(li); setActive(Array.prototype.indexOf.call(options(), li)); input.focus(); }
  });
  input.addEventListener("blur", function () { setTimeout(function () { open(false); }, 150); });
  chips.addEventListener("click", function (event) {
    var button = event.target.closest(".chip-remove");
    if (!button) { return; }
    var chip = button.closest(".chip");
    var next = chip.nextElementSibling || chip.previousElementSibling;
    chip.remove();
    changed();
    (next ? next.querySelector(".chip-remove") : input).focus();
  });
  // Typed into before this script ran (a quick typist on a slow connection): search now.
  if (document.activeElement === input && input.value.trim()) {
    query = input.value.trim();
    fetchResults({q: query}, false);
  }
})();
