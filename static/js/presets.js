// Account form: choosing a provider fills its settings (they stay editable) and shows its note.
(function () {
  var select = document.querySelector("select[name=preset]");
  var data = document.getElementById("preset-data");
  if (!select || !data) { return; }
  var presets = JSON.parse(data.textContent);
  var note = document.getElementById("preset-note");
  function setField(name, value) {
    var radios = document.querySelectorAll("input[type=radio][name=" + name + "]");
    if (radios.length) {
      radios.forEach(function (radio) { radio.checked = radio.value === String(value); });
      return;
    }
    var input = document.querySelector("[name=" + name + "]");
    if (input) { input.value = value; }
  }
  select.addEventListener("change", function () {
    var preset = presets[select.value];
    if (!preset) { if (note) { note.hidden = true; } return; }
    Object.keys(preset.fields).forEach(function (name) { setField(name, preset.fields[name]); });
    if (note) {
      note.querySelector(".preset-limits").textContent = preset.limits;
      note.querySelector(".preset-requirements").textContent = preset.note;
      note.hidden = false;
    }
  });
})();
