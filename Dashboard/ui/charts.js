// uPlot charts: a small wrapper that creates a chart once and then only swaps its data (live pages), plus DOM markers
// (one absolutely placed element per event over the plot area) so a lost worker or a checkpoint is visible and testable.
"use strict";
const PALETTE = ["#2f6fdf", "#d64545", "#1f9d55", "#e08a00", "#7b4fd6", "#0f9fb0", "#b0488a", "#6b7385"];

class Chart {
  constructor(container, opts) {
    this.container = container;
    this.opts = opts;            // { title, series: [{label, color, points, line, band}], x: {log, time, label}, y: {log, label}, bands }
    this.plot = null;
    this.key = null;
    this.markers = [];
  }

  // data: [xs, ys1, ys2, ...]; markers: [{x, kind, title}]
  set(data, markers) {
    this.markers = markers || [];
    const has = data[0] && data[0].length > 0;
    const key = JSON.stringify(this.opts.series.map(s => s.label)) + (has ? "" : "empty");
    if (!has) {
      if (this.key !== key) { this.destroy(); this.container.replaceChildren(h("div", { class: "empty" }, this.opts.empty || "no data yet")); this.key = key; }
      return;
    }
    if (this.plot && this.key === key) { this.plot.setData(data); this.drawMarkers(); return; }
    this.destroy();
    this.container.replaceChildren();
    this.key = key;
    const o = this.opts;
    const series = [{ label: o.x.label || "x", value: o.x.time ? (u, v) => F.time(v * 1000) : (u, v) => v == null ? "-" : F.g3(v) }];
    for (const [i, s] of o.series.entries()) {
      const color = s.color || PALETTE[i % PALETTE.length];
      series.push({
        label: s.label, stroke: s.band ? "transparent" : color, width: s.line === false ? 0 : 1.5,
        fill: s.fill, spanGaps: s.line !== false,
        points: { show: s.points || false, size: 7, fill: color, stroke: color },
        paths: s.line === false ? () => null : s.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        value: (u, v) => v == null ? "-" : s.format ? s.format(v) : F.g3(v),
      });
    }
    const width = Math.max(320, this.container.clientWidth - 4);
    this.plot = new uPlot({
      width, height: o.height || 240, series, bands: o.bands,
      scales: { x: { time: !!o.x.time, distr: o.x.log ? 3 : 1 }, y: { distr: o.y && o.y.log ? 3 : 1, range: o.y && o.y.range } },
      axes: [
        { label: o.x.label, size: 40, values: o.x.time ? undefined : (u, vs) => vs.map(v => v == null ? "" : F.g3(v)) },
        { label: o.y && o.y.label, size: 60, values: (u, vs) => vs.map(v => v == null ? "" : (o.y && o.y.format ? o.y.format(v) : F.g3(v))) },
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      hooks: { draw: [u => this.drawMarkers(u)] },
    }, data, this.container);
    // Band edges are drawn as the fill between them; their own legend rows would only repeat the budget.
    const rows = this.plot.root.querySelectorAll(".u-legend .u-series");
    o.series.forEach((s, i) => { if (s.band && rows[i + 1]) rows[i + 1].style.display = "none"; });
  }

  drawMarkers(u) {
    u = u || this.plot;
    if (!u) return;
    const over = u.over;
    over.querySelectorAll(".marker").forEach(m => m.remove());
    for (const m of this.markers) {
      const left = u.valToPos(m.x, "x");
      if (!(left >= 0 && left <= over.clientWidth)) continue;
      over.append(h("div", { class: "marker " + m.kind, "data-kind": m.kind, title: m.title, style: `left:${left}px` }));
    }
  }

  destroy() { if (this.plot) { this.plot.destroy(); this.plot = null; } }
}

// Several (x, y) tables with their own xs aligned on one x array (nulls where a series has no point).
function joinSeries(tables) {
  const xs = [...new Set(tables.flatMap(t => t[0]))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const out = [xs];
  for (const [tx, ...cols] of tables) {
    for (const col of cols) {
      const ys = new Array(xs.length).fill(null);
      tx.forEach((x, i) => { ys[index.get(x)] = col[i]; });
      out.push(ys);
    }
  }
  return out;
}

function markerLegend() {
  const kinds = [["WorkerLost", "worker lost", "var(--bad)"], ["WorkerJoined", "worker joined", "var(--ok)"],
                 ["Restarted", "restart", "var(--warn)"], ["Checkpoint", "checkpoint", "var(--info)"]];
  return h("div", { class: "legend-markers" }, kinds.map(([k, label, c]) => h("span", {}, h("i", { style: `border-color:${c}` }), label)));
}
