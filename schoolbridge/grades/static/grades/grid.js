// The score grid: Enter moves down (Shift+Enter up); pasting several lines from Excel fills the grid.
// Two columns (student number, score) go to the matching students; one column fills downwards.
(function () {
  "use strict";
  var form = document.getElementById("grid-form");
  if (!form) return;
  var inputs = Array.prototype.slice.call(form.querySelectorAll(".score-input:not([readonly])"));
  if (!inputs.length) return;

  inputs.forEach(function (input, i) {
    input.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter") return;
      ev.preventDefault();
      var next = inputs[ev.shiftKey ? i - 1 : i + 1];
      if (next) { next.focus(); next.select(); }
    });
    input.addEventListener("paste", function (ev) {
      var text = (ev.clipboardData || window.clipboardData).getData("text");
      if (!text || !/[\r\n\t]/.test(text.trim())) return; // a single value: the normal paste
      ev.preventDefault();
      fill(text, i);
    });
  });

  function cells(line) {
    return line.trim().split(/[\t,，;；]+|\s+/).filter(function (p) { return p !== ""; });
  }

  function fill(text, start) {
    var lines = text.replace(/\r\n?/g, "\n").split("\n");
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    var twoColumns = lines.some(function (l) { return cells(l).length >= 2; });
    var byNumber = {};
    inputs.forEach(function (inp) { byNumber[inp.dataset.number] = inp; });
    var unknown = [];
    lines.forEach(function (line, k) {
      var parts = cells(line);
      if (twoColumns) {
        if (!parts.length) return;
        var target = byNumber[parts[0]];
        if (target) target.value = parts.length > 1 ? parts[parts.length - 1] : "";
        else unknown.push(parts[0]);
      } else {
        var inp = inputs[start + k];
        if (inp) inp.value = parts[0] || "";
      }
    });
    if (unknown.length) {
      var note = document.getElementById("paste-note");
      if (!note) {
        note = document.createElement("p");
        note.id = "paste-note";
        note.className = "note";
        note.setAttribute("role", "status");
        form.insertBefore(note, form.firstChild);
      }
      note.textContent = (document.documentElement.lang === "en" ? "Not in this class: " : "不在本班的学号：") + unknown.join(", ");
    }
  }

  var errors = document.getElementById("entry-errors");
  if (errors) errors.focus();
})();
