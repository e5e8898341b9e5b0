// Adds the viewer's local time beside each UTC time; the page is complete without it.
(function () {
  "use strict";
  var offset = new Date().getTimezoneOffset();
  if (offset === 0 || !window.Intl) { return; }
  var format = new Intl.DateTimeFormat(undefined, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var times = document.querySelectorAll("time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var when = new Date(times[i].getAttribute("datetime"));
    if (isNaN(when.getTime())) { continue; }
    var local = document.createElement("span");
    local.className = "local";
    local.textContent = " (" + format.format(when) + ")";
    times[i].insertAdjacentElement("afterend", local);
  }
  var note = document.querySelector(".js-local");
  if (note) { note.hidden = false; }
})();
