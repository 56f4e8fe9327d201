/* Money's charts on the analytics page (#roi-data, #clicks-data), drawn with Chart.js like
   the page's others: series differ by pattern and point shape as well as colour, and each
   chart has its numbers in the table beside it. */
(function () {
  "use strict";
  function read(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function draw() {
    if (typeof Chart === "undefined") { return; }
    var common = {
      responsive: true,
      maintainAspectRatio: false,
      // Numbers as the page's language writes them (27 000 in French, 27,000 in English).
      locale: document.documentElement.lang || "en",
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { labels: { usePointStyle: true } } }
    };
    var clicks = read("clicks-data");
    var clicksCanvas = document.getElementById("chart-link-clicks");
    if (clicks && clicksCanvas) {
      new Chart(clicksCanvas, {
        type: "line",
        data: {
          labels: clicks.labels,
          datasets: [
            { label: clicks.text.clicks, data: clicks.clicks, borderColor: "#1f4fd1",
              backgroundColor: "#1f4fd1", borderWidth: 2.5, pointStyle: "circle", tension: 0.2 },
            { label: clicks.text.previous_clicks, data: clicks.previous_clicks,
              borderColor: "#1f4fd1", backgroundColor: "#1f4fd1", borderDash: [6, 4],
              borderWidth: 1.5, pointStyle: "line", pointRadius: 0, tension: 0.2 }
          ]
        },
        options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } })
      });
    }
    var roi = read("roi-data");
    var spendCanvas = document.getElementById("chart-roi");
    if (roi && spendCanvas) {
      new Chart(spendCanvas, {
        type: "bar",
        data: {
          labels: roi.channels,
          datasets: [
            { label: roi.text.spent, data: roi.spent, backgroundColor: "#b4490f" },
            { label: roi.text.previous_spent, data: roi.previous_spent,
              backgroundColor: "rgba(180,73,15,0.25)", borderColor: "#b4490f", borderWidth: 1,
              borderDash: [4, 3] },
            { label: roi.text.value_won, data: roi.value_won, backgroundColor: "#1d7a45" }
          ]
        },
        options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } })
      });
    }
    var cplCanvas = document.getElementById("chart-cost-per-lead");
    if (roi && cplCanvas) {
      new Chart(cplCanvas, {
        type: "bar",
        data: {
          labels: roi.channels,
          datasets: [
            { label: roi.text.cost_per_lead, data: roi.cost_per_lead, backgroundColor: "#1f4fd1" },
            { label: roi.text.previous_cost_per_lead, data: roi.previous_cost_per_lead,
              backgroundColor: "rgba(31,79,209,0.25)", borderColor: "#1f4fd1", borderWidth: 1 }
          ]
        },
        options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } })
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
