// A button [data-copy="#id"] copies that element's text; it stays hidden without JavaScript
// (the text can still be selected and copied by hand).
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
    } catch {
      // No clipboard API (a page not served over HTTPS): select the text for Ctrl-C.
      window.getSelection().selectAllChildren(source);
      return;
    }
    button.textContent = button.dataset.copied;
  });
});
