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
// Keep the disclosure-deadline clock current without a reload (the server text is the fallback).
function describeLeft(ms) {
  const late = ms < 0;
  let minutes = Math.floor(Math.abs(ms) / 60000);
  const days = Math.floor(minutes / 1440);
  minutes -= days * 1440;
  const hours = Math.floor(minutes / 60);
  minutes -= hours * 60;
  const text = (days ? days + "d " : "") + hours + "h " + String(minutes).padStart(2, "0") + "m";
  return late ? text + " overdue" : text + " left";
}
function tickClocks() {
  document.querySelectorAll("[data-due]").forEach((el) => {
    const due = new Date(el.dataset.due);
    if (isNaN(due)) return;
    const ms = due - Date.now();
    el.textContent = describeLeft(ms);
    const clock = el.closest(".clock");
    if (clock && ms <= 0) { clock.classList.remove("ok", "soon"); clock.classList.add("overdue"); }
  });
}
if (document.querySelector("[data-due]")) setInterval(tickClocks, 30000);
// After a refused save, bring the person straight to the text they typed.
const refused = document.querySelector("[data-focus]");
if (refused) {
  const box = document.getElementById(refused.dataset.focus);
  if (box) { box.scrollIntoView({ block: "center" }); box.focus({ preventScroll: true }); }
}
