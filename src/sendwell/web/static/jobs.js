// Live progress of a background job (import, list verification): poll the section's
// JSON endpoint and update the elements marked data-job="<field>" in place. The page is
// complete without this script; it only keeps the numbers fresh. Values are written with
// textContent, so nothing from the server is ever parsed as HTML.
(function () {
  "use strict";
  var section = document.getElementById("job");
  if (!section) { return; }
  var url = section.getAttribute("data-url");
  var reload = section.hasAttribute("data-reload");
  var ACTIVE = ["queued", "running"];

  function lookup(data, path) {
    return path.split(".").reduce(function (obj, key) {
      return obj === null || obj === undefined ? undefined : obj[key];
    }, data);
  }

  function update(data) {
    var active = ACTIVE.indexOf(data.state) >= 0;
    document.querySelectorAll("[data-job]").forEach(function (el) {
      var key = el.getAttribute("data-job");
      if (key === "bar") {
        el.value = data.percent;
        el.textContent = data.percent + "%";
      } else if (key === "cancel") {
        el.hidden = !active;
      } else if (key === "errors_url") {
        el.hidden = !data.errors_url;
      } else if (key === "error") {
        el.hidden = !data.error;
        el.textContent = data.error || "";
      } else {
        var value = lookup(data, key);
        if (value !== undefined && value !== null) { el.textContent = String(value); }
        if (key === "state") { el.className = "state state-" + data.state; }
      }
    });
    return active;
  }

  var wasActive = false;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var active = update(data);
        if (active) {
          wasActive = true;
          window.setTimeout(poll, 1000);
        } else if (wasActive && reload) {
          window.location.reload();  // the finished page has the full results
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
