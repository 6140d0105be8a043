// The dashboard's trend chart. The data comes from a json_script element named by the canvas's
// data-chart attribute; amounts arrive as decimal strings and are only turned into numbers here,
// for drawing. Redrawn whenever htmx swaps a new dashboard body in.
(function () {
  "use strict";

  const charts = new WeakMap();

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function toNumbers(values) {
    return (values || []).map((v) => (v === null || v === undefined ? null : Number(v)));
  }

  function compact(value, currency) {
    const abs = Math.abs(value);
    let text;
    if (abs >= 1e9) text = (value / 1e9).toFixed(abs >= 1e10 ? 0 : 1) + "B";
    else if (abs >= 1e6) text = (value / 1e6).toFixed(abs >= 1e7 ? 0 : 1) + "M";
    else if (abs >= 1e3) text = (value / 1e3).toFixed(abs >= 1e4 ? 0 : 1) + "k";
    else text = String(Math.round(value));
    return text.replace(".0", "");
  }

  function full(value, currency) {
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency: currency, currencyDisplay: "code" })
        .format(value).replace(/^([A-Z]{3})\s?/, "$1 ");
    } catch (e) {
      return value.toLocaleString("en-US") + " " + currency;
    }
  }

  function draw(canvas) {
    if (typeof window.Chart === "undefined" || charts.has(canvas)) return;
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const revenue = cssVar("--chart-revenue", "#5b5bd6");
    const expenses = cssVar("--chart-expenses", "#c5cad3");
    const net = cssVar("--chart-net", "#12875a");
    const grid = cssVar("--border", "#e4e7ec");
    const muted = cssVar("--muted", "#7a8494");
    const font = cssVar("--font", "system-ui, sans-serif");

    const chart = new window.Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          {
            type: "line", label: "Net income", data: toNumbers(data.net), order: 0,
            borderColor: net, backgroundColor: net, borderWidth: 2, tension: 0.35,
            pointRadius: 3, pointHoverRadius: 5, pointBackgroundColor: "#fff", pointBorderWidth: 2,
            spanGaps: false,
          },
          {
            type: "bar", label: "Revenue", data: toNumbers(data.revenue), order: 1,
            backgroundColor: revenue, borderRadius: 4, maxBarThickness: 22, categoryPercentage: 0.7, barPercentage: 0.85,
          },
          {
            type: "bar", label: "Expenses", data: toNumbers(data.expenses), order: 2,
            backgroundColor: expenses, borderRadius: 4, maxBarThickness: 22, categoryPercentage: 0.7, barPercentage: 0.85,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: { duration: 350 },
        interaction: { mode: "index", intersect: false },
        font: { family: font },
        plugins: {
          legend: { display: false },
          tooltip: {
            backgroundColor: "#111827", padding: 10, cornerRadius: 8, boxPadding: 4,
            titleFont: { family: font, weight: "600" }, bodyFont: { family: font },
            callbacks: {
              label: (ctx) => ctx.parsed.y === null ? null : " " + ctx.dataset.label + ": " + full(ctx.parsed.y, data.currency),
            },
          },
        },
        scales: {
          x: {
            grid: { display: false }, border: { color: grid },
            ticks: {
              color: muted, font: { family: font, size: 11 }, maxRotation: 0, autoSkip: false,
              // "Mar 2026" → "Mar"; the year only where it starts and on each January.
              callback: function (value, index) {
                const label = this.getLabelForValue(value) || "";
                const [month, year] = label.split(" ");
                return index === 0 || month === "Jan" ? [month, year] : month;
              },
            },
          },
          y: {
            beginAtZero: true, border: { display: false },
            grid: { color: grid, drawTicks: false },
            ticks: { color: muted, font: { family: font, size: 11 }, padding: 8, maxTicksLimit: 6,
                     callback: (value) => compact(value, data.currency) },
          },
        },
      },
    });
    charts.set(canvas, chart);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  // Free the old chart (its resize observer) before htmx replaces its canvas.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || typeof window.Chart === "undefined") return;
    target.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const chart = window.Chart.getChart(canvas);
      if (chart) chart.destroy();
    });
  });
  // htmx:load fires for every element htmx adds to the page (including history restores).
  document.addEventListener("htmx:load", (event) => drawAll(event.target));
})();
