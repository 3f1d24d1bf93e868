// A header checkbox [data-select-all="name"] ticks or clears every checkbox of that name.
document.querySelectorAll("[data-select-all]").forEach((master) => {
  const boxes = () => document.querySelectorAll(`input[type=checkbox][name="${master.dataset.selectAll}"]`);
  master.hidden = false;
  master.addEventListener("change", () => boxes().forEach((box) => { box.checked = master.checked; }));
});
