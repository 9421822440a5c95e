// Live count while a segment filter is edited: after a short pause in typing, ask the
// server how many active subscribers the filter matches (a read-only GET) and show it
// in the status line. Invalid JSON is reported without a request. Results are written
// with textContent only.
(function () {
  "use strict";
  var area = document.getElementById("definition");
  var status = document.getElementById("live-count");
  if (!area || !status) { return; }
  var url = area.getAttribute("data-count-url");
  var timer = null;
  var inFlight = null;
  var asked = 0;

  function show(text, bad) {
    status.replaceChildren();
    var span = document.createElement("span");
    span.className = bad ? "error" : "count";
    span.setAttribute("data-count", "");
    span.textContent = text;
    status.appendChild(span);
    if (!bad) { status.appendChild(document.createTextNode(" active subscribers match.")); }
  }

  function count() {
    var text = area.value;
    try {
      JSON.parse(text);
    } catch (e) {
      show("Not valid JSON yet: " + e.message, true);
      return;
    }
    if (inFlight) { inFlight.abort(); }
    inFlight = new AbortController();
    var mine = ++asked;
    fetch(url + "?definition=" + encodeURIComponent(text), {
      credentials: "same-origin", headers: { Accept: "application/json" }, signal: inFlight.signal
    })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }  // an older answer arriving late
        if (typeof data.matching === "number") { show(String(data.matching), false); }
        else { show(data.error || "The filter cannot be counted.", true); }
      })
      .catch(function (e) { if (e.name !== "AbortError") { show("Count unavailable.", true); } });
  }

  function later() {
    // The list of first matches belongs to the filter the page was loaded with.
    var preview = document.getElementById("preview");
    if (preview) { preview.hidden = true; }
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(count, 350);
  }

  area.addEventListener("input", later);
  document.querySelectorAll("button.example").forEach(function (button) {
    button.addEventListener("click", function () {
      area.value = JSON.stringify(JSON.parse(button.getAttribute("data-example")), null, 2);
      area.focus();
      later();
    });
  });
})();
