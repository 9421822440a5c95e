// Live campaign progress: poll the page's JSON endpoint and update counts in place.
// The page is complete without this script; it only keeps the numbers fresh.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section) { return; }
  var url = section.getAttribute("data-url");
  var FINAL = ["delivered", "bounced", "expired"];
  var COLUMNS = ["delivered", "queued", "deferred", "bounced", "expired"];

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = String(text);  // textContent: domain names are never parsed as HTML
    return td;
  }

  function update(data) {
    var done = 0;
    Object.keys(data.counts).forEach(function (key) {
      var el = section.querySelector('[data-count="' + key + '"]');
      if (el) { el.textContent = String(data.counts[key]); }
      if (FINAL.indexOf(key) >= 0) { done += data.counts[key]; }
    });
    var bar = document.getElementById("bar");
    bar.max = data.total || 1;
    bar.value = done;
    document.getElementById("summary").textContent = done + " of " + data.total + " final";
    document.getElementById("state").textContent = data.state;
    var body = document.getElementById("sites");
    var sites = Object.keys(data.by_site).sort();
    if (sites.length) {
      body.replaceChildren.apply(body, sites.map(function (site) {
        var tr = document.createElement("tr");
        tr.appendChild(cell(site));
        COLUMNS.forEach(function (c) { tr.appendChild(cell(data.by_site[site][c] || 0)); });
        return tr;
      }));
    }
    return data.state === "running" || data.state === "paused";
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && update(data)) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
