// Small enhancements only: every form works without JavaScript.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.innerText).then(() => {
      button.textContent = "Copied";
    });
  }
});
// Show times in the viewer's local zone next to the UTC ones.
document.querySelectorAll("time[datetime]").forEach((el) => {
  const when = new Date(el.getAttribute("datetime"));
  if (!isNaN(when)) el.title = when.toLocaleString() + " (your time)";
});
