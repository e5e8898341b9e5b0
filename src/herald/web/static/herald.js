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
// Live sending progress: refresh the counts while anything is still on its way.
(() => {
  const box = document.querySelector("[data-live-sends]");
  if (!box) return;
  const refresh = () => fetch(box.dataset.liveSends, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => {
      if (!data) return;
      let busy = false;
      for (const send of data.sends) {
        const card = box.querySelector(`[data-send="${send.id}"]`);
        if (!card) continue;
        for (const [state, n] of Object.entries(send.counts)) {
          const cell = card.querySelector(`[data-count="${state}"]`);
          if (cell) cell.textContent = n;
        }
        const tag = card.querySelector('[data-field="state"]');
        if (tag) tag.textContent = send.state;
        busy = busy || send.counts.queued + send.counts.sending + send.counts.retry > 0;
      }
      if (busy) setTimeout(refresh, 2000);
    });
  refresh();
})();
