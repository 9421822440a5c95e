// Live check and preview for the content editors (library templates, campaign content).
//
// After a short pause in typing, the unsaved form is posted to the editor's check URL
// (it carries the session's CSRF token; nothing is stored). The answer lists every
// problem with its part and line — each line is a button that puts the caret there — and
// the subject and text as rendered. When there is no error, the form is also submitted to
// the sandboxed preview frame through the page's own Preview button, so the HTML is
// fetched by the frame as its own document (see web/preview_frame.py); the last good
// preview stays while errors are fixed. Everything is written with textContent.
(function () {
  "use strict";
  var form = document.getElementById("editor");
  var button = document.getElementById("preview-button");
  if (!form || !button) { return; }
  var checkUrl = form.getAttribute("data-check-url");
  var list = document.getElementById("problems");
  var status = document.getElementById("check-status");
  var subjectOut = document.getElementById("preview-subject");
  var forOut = document.getElementById("preview-for");
  var textOut = document.getElementById("preview-text");
  var timer = null;
  var inFlight = null;
  var asked = 0;

  function jump(part, line) {
    var field = form.elements.namedItem(part);
    if (!field) { return; }
    field.focus();
    if (field.tagName !== "TEXTAREA") { return; }
    var lines = field.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || "").length;
    field.setSelectionRange(start, end);
    var height = parseFloat(window.getComputedStyle(field).lineHeight) || 20;
    field.scrollTop = Math.max(0, (line - 3) * height);
  }

  function problemItem(p) {
    var li = document.createElement("li");
    li.className = "problem-" + p.level;
    var level = document.createElement("strong");
    level.textContent = p.level;
    li.appendChild(level);
    if (p.part && p.line) {
      li.appendChild(document.createTextNode(" "));
      var where = document.createElement("button");
      where.type = "button";
      where.className = "jump";
      where.setAttribute("data-part", p.part);
      where.setAttribute("data-line", String(p.line));
      where.textContent = p.part + ", line " + p.line;
      li.appendChild(where);
    } else if (p.part) {
      li.appendChild(document.createTextNode(" " + p.part));
    }
    li.appendChild(document.createTextNode(": " + p.message));
    return li;
  }

  function mark(problems) {
    ["subject", "body", "text"].forEach(function (part) {
      var field = form.elements.namedItem(part);
      if (!field) { return; }
      var bad = problems.some(function (p) { return p.level === "error" && p.part === part; });
      if (bad) { field.setAttribute("aria-invalid", "true"); }
      else { field.removeAttribute("aria-invalid"); }
    });
  }

  function show(data) {
    var errors = data.problems.filter(function (p) { return p.level === "error"; }).length;
    var warnings = data.problems.length - errors;
    list.replaceChildren.apply(list, data.problems.map(problemItem));
    status.textContent = data.problems.length
      ? errors + " error(s), " + warnings + " warning(s)."
      : "No problems found.";
    mark(data.problems);
    if (!data.ok) { return; }
    if (subjectOut) { subjectOut.textContent = data.subject; }
    if (forOut) { forOut.textContent = data.email || "a sample subscriber"; }
    if (textOut) { textOut.textContent = data.text; }
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  }

  function check() {
    if (inFlight) { inFlight.abort(); }
    inFlight = new AbortController();
    var mine = ++asked;
    fetch(checkUrl, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" }, signal: inFlight.signal
    })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === asked) { show(data); } })
      .catch(function (e) {
        if (e.name !== "AbortError") { status.textContent = "The live check is unavailable."; }
      });
  }

  function later() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(check, 400);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  list.addEventListener("click", function (event) {
    var target = event.target.closest("button.jump");
    if (target) { jump(target.getAttribute("data-part"), Number(target.getAttribute("data-line"))); }
  });
  if (form.hasAttribute("data-check-now")) { check(); }
})();
