/* SchoolBridge portal: keep the bell's accessible name in step with its live count. */
(function () {
  "use strict";
  var bell = document.getElementById("bell");
  var count = document.getElementById("bell-count");
  if (!bell || !count || !("MutationObserver" in window)) return;
  var template = bell.getAttribute("data-label-template");
  function sync() {
    var n = count.textContent.trim();
    count.setAttribute("data-count", n);
    if (template) bell.setAttribute("aria-label", template.replace("__N__", n));
  }
  new MutationObserver(sync).observe(count, { childList: true, characterData: true, subtree: true });
})();
