// Show only the fields that belong to the chosen kind of leave (all show without JavaScript).
(function () {
  "use strict";
  var form = document.querySelector(".leave-form");
  if (!form) return;
  function update() {
    var checked = form.querySelector("input[name=kind]:checked");
    var kind = checked ? checked.value : "days";
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      el.hidden = el.getAttribute("data-kinds").split(" ").indexOf(kind) === -1;
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "kind") update();
  });
  update();
})();
