// Enhancement only: colour a row by its chosen status and keep the count of exceptions up to date.
(function () {
  var form = document.getElementById("register-form");
  if (!form) return;
  var counter = document.getElementById("exception-count");
  function update() {
    var n = 0;
    form.querySelectorAll(".reg-row").forEach(function (row) {
      var checked = row.querySelector("input[type=radio]:checked");
      if (!checked) return;
      row.dataset.status = checked.value;
      if (checked.value !== "present") n += 1;
    });
    if (counter) counter.textContent = String(n);
  }
  form.addEventListener("change", update);
  update();
})();
