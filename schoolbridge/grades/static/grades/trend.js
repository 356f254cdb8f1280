// The guardian's trend chart (ECharts): the child's average share of full marks per exam, oldest first.
// The data comes from the page (json_script); the table below the chart carries the same figures.
(function () {
  "use strict";
  var node = document.getElementById("trend-data");
  var box = document.getElementById("trend-chart");
  if (!node || !box || !window.echarts) return;
  var points = JSON.parse(node.textContent);
  var chart = window.echarts.init(box);
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
    grid: { left: 44, right: 16, bottom: 48, top: 24 },
    xAxis: {
      type: "category",
      data: points.map(function (p) { return p.assessment; }),
      axisLabel: { interval: 0, rotate: points.length > 4 ? 30 : 0 }
    },
    yAxis: { type: "value", min: 0, max: 100, name: "%" },
    series: [{
      type: "line",
      data: points.map(function (p) { return p.percent; }),
      connectNulls: true,
      symbolSize: 8,
      label: { show: true, formatter: "{c}%" }
    }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
