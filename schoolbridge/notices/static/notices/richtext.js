/* Rich-text editing for textareas marked data-richtext: a toolbar and an editable area.
   Without JavaScript the textarea stays and takes plain text; the server sanitizes either way. */
(function () {
  "use strict";
  var BUTTONS = [
    ["bold", "B", "rtBold"], ["italic", "I", "rtItalic"], ["underline", "U", "rtUnderline"],
    ["h3", "H", "rtHeading"], ["insertUnorderedList", "•", "rtBullets"],
    ["insertOrderedList", "1.", "rtNumbers"], ["createLink", "🔗", "rtLink"], ["removeFormat", "⌫", "rtClear"]
  ];
  function looksLikeHtml(v) { return /<\s*\/?\s*(p|br|div|strong|b|em|i|u|s|h3|h4|ul|ol|li|blockquote|a)\b/i.test(v); }
  function plainToHtml(v) {
    var d = document.createElement("div");
    return v.split(/\n\s*\n/).map(function (p) { d.textContent = p; return "<p>" + d.innerHTML.replace(/\n/g, "<br>") + "</p>"; }).join("");
  }
  function enhance(area) {
    var labels = area.form ? area.form.dataset : {};
    var wrap = document.createElement("div");
    wrap.className = "rt";
    var bar = document.createElement("div");
    bar.className = "rt-bar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", area.dataset.rtToolbar || "Formatting");
    var box = document.createElement("div");
    box.className = "rt-box";
    box.contentEditable = "true";
    box.setAttribute("role", "textbox");
    box.setAttribute("aria-multiline", "true");
    var label = area.id && document.querySelector('label[for="' + area.id + '"]');
    if (label) { if (!label.id) { label.id = area.id + "-label"; } box.setAttribute("aria-labelledby", label.id); }
    box.dataset.testid = "richtext";
    box.innerHTML = area.value ? (looksLikeHtml(area.value) ? area.value : plainToHtml(area.value)) : "";
    BUTTONS.forEach(function (spec) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "rt-btn";
      var name = area.dataset[spec[2]] || spec[0];
      var glyph = document.createElement("span");
      glyph.setAttribute("aria-hidden", "true");
      glyph.textContent = spec[1];
      var spoken = document.createElement("span");
      spoken.className = "visually-hidden";
      spoken.textContent = name;
      b.appendChild(glyph);
      b.appendChild(spoken);
      b.title = name;
      b.addEventListener("mousedown", function (e) { e.preventDefault(); });
      b.addEventListener("click", function () {
        box.focus();
        if (spec[0] === "h3") {
          document.execCommand("formatBlock", false, "h3");
        } else if (spec[0] === "createLink") {
          var url = window.prompt(area.dataset.rtLinkPrompt || "Link address (https://…)", "https://");
          if (url && /^(https?:|mailto:|tel:)/i.test(url)) { document.execCommand("createLink", false, url); }
        } else {
          document.execCommand(spec[0], false, null);
        }
        sync();
      });
      bar.appendChild(b);
    });
    function sync() { area.value = box.innerText.trim() ? box.innerHTML : ""; }
    box.addEventListener("input", sync);
    box.addEventListener("blur", sync);
    area.hidden = true;
    area.removeAttribute("required");
    area.parentNode.insertBefore(wrap, area);
    wrap.appendChild(bar);
    wrap.appendChild(box);
    wrap.appendChild(area);
    if (area.form) { area.form.addEventListener("submit", sync); }
    void labels;
  }
  document.querySelectorAll("textarea[data-richtext]").forEach(enhance);
})();
