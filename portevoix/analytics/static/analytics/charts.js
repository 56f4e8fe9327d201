/* Charts of the analytics page, drawn with Chart.js from the numbers the page embeds
   (#analytics-data). Series differ by line style and point shape as well as colour, and
   every chart has its numbers in a table beside it. */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("analytics-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var t = data.text;
    var styles = {
      impressions: { color: "#1f4fd1", dash: [], point: "circle" },
      engagements: { color: "#b4490f", dash: [], point: "triangle" },
      followers: { color: "#1d7a45", dash: [], point: "rectRot" }
    };
    function line(key, values, previous, axis) {
      var s = styles[key.replace("previous_", "")];
      return {
        yAxisID: axis || "y",
        label: t[key],
        data: values,
        borderColor: s.color,
        backgroundColor: s.color,
        borderDash: previous ? [6, 4] : s.dash,
        borderWidth: previous ? 1.5 : 2.5,
        pointStyle: previous ? "line" : s.point,
        pointRadius: previous ? 0 : 3,
        tension: 0.2,
        spanGaps: true
      };
    }
    var common = {
      responsive: true,
      maintainAspectRatio: false,
      // Numbers as the page's language writes them (27 000 in French, 27,000 in English).
      locale: document.documentElement.lang || "en",
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { labels: { usePointStyle: true } } }
    };
    var daily = document.getElementById("chart-daily");
    if (daily) {
      new Chart(daily, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [
            line("impressions", data.impressions, false),
            line("previous_impressions", data.previous_impressions, true),
            line("engagements", data.engagements, false, "y1"),
            line("previous_engagements", data.previous_engagements, true, "y1")
          ]
        },
        options: Object.assign({}, common, {
          scales: {
            y: { beginAtZero: true, title: { display: true, text: t.impressions } },
            y1: {
              beginAtZero: true,
              position: "right",
              grid: { drawOnChartArea: false },
              title: { display: true, text: t.engagements }
            }
          }
        })
      });
    }
    var followers = document.getElementById("chart-followers");
    if (followers) {
      new Chart(followers, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [
            line("followers", data.followers, false),
            line("previous_followers", data.previous_followers, true)
          ]
        },
        options: common
      });
    }
    var types = document.getElementById("chart-types");
    if (types) {
      new Chart(types, {
        type: "bar",
        data: {
          labels: data.types,
          datasets: [{ label: t.rate, data: data.types_rate, backgroundColor: "#1f4fd1" }]
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          locale: document.documentElement.lang || "en",
          plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, title: { display: true, text: t.rate } } }
        }
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
