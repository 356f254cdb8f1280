// Statistics charts (ECharts): the distribution of the chosen subject and the subject comparison.
// The data comes from the page (json_script); the tables on the page carry the same figures.
(function () {
  "use strict";
  var node = document.getElementById("stats-data");
  if (!node || !window.echarts) return;
  var data = JSON.parse(node.textContent);
  var zh = document.documentElement.lang !== "en";
  var dist = window.echarts.init(document.getElementById("distribution-chart"));
  var select = document.getElementById("chart-subject");

  function showSubject(i) {
    var s = data.subjects[i];
    if (!s) return;
    var labels = s.series.length ? s.series[0].summary.buckets.map(function (b) { return b.label; }) : [];
    dist.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 10, bottom: 30, top: 40 },
      xAxis: { type: "category", data: labels },
      yAxis: { type: "value", minInterval: 1, name: zh ? "人数" : "students" },
      series: s.series.map(function (x) {
        return { name: x.name, type: "bar", data: x.summary.buckets.map(function (b) { return b.count; }) };
      })
    }, true);
  }
  select.addEventListener("change", function () { showSubject(Number(select.value)); });
  showSubject(0);

  var cmp = window.echarts.init(document.getElementById("comparison-chart"));
  var names = data.subjects.map(function (s) { return s.name; });
  function pct(v) { return v == null ? null : Math.round(v * 1000) / 10; }
  cmp.setOption({
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 10, bottom: 30, top: 40 },
    xAxis: { type: "category", data: names },
    yAxis: { type: "value", max: 100, name: "%" },
    series: [
      { name: zh ? "平均分率" : "mean %", type: "bar", data: data.subjects.map(function (s) { return s.mean_percent == null ? null : s.mean_percent; }) },
      { name: zh ? "及格率" : "pass rate", type: "bar", data: data.subjects.map(function (s) { return pct(s.pass_rate); }) },
      { name: zh ? "优秀率" : "excellent rate", type: "bar", data: data.subjects.map(function (s) { return pct(s.excellent_rate); }) }
    ]
  });
  window.addEventListener("resize", function () { dist.resize(); cmp.resize(); });
})();
