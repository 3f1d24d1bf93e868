// A form with data-confirm="question" is sent only once the person confirms; without
// JavaScript it is sent straight away.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});
