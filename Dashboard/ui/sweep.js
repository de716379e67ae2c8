// Sweeps: the list, and one sweep's page: a progress grid of model size N x token budget D (or FLOP budget), final
// loss against N per budget with the fitted law and its 95% band, IsoFLOP profiles with their minima, residuals, the
// compute-optimal table and a link to the Markdown report. The fit is the API's (/api/sweeps/ID/analysis).
"use strict";

const SweepsPage = {
  mount(root) {
    const body = h("div");
    root.append(h("h1", {}, "Sweeps"), body);
    return {
      async refresh() {
        const sweeps = await api("/api/sweeps");
        swap(body, sweeps.length === 0 ? h("div", { class: "muted" }, "no sweeps yet: orch sweep launch SWEEP.yaml") :
          table(["sweep", "state", "done", "failed", "runs", "created", "ended"], sweeps.slice().reverse().map(s => h("tr", { "data-sweep": s.id },
            h("td", {}, h("a", { href: "#/sweeps/" + encodeURIComponent(s.id) }, s.id)), h("td", { "data-field": "state" }, stateBadge(s.state)),
            h("td", { class: "num", "data-field": "done" }, String(s.done)), h("td", { class: "num", "data-field": "failed" }, String(s.failed)),
            h("td", { class: "num", "data-field": "total" }, String(s.total)), h("td", {}, F.datetime(s.created_at)), h("td", {}, F.datetime(s.ended_at))))));
      },
    };
  },
};

const SweepPage = {
  mount(root, params, id) {
    const head = h("div"), stats = h("div"), grid = h("div", { id: "grid" }), law = h("div", { id: "law" }), optimal = h("div", { id: "compute-optimal" }), notes = h("div");
    const box = () => h("div");
    const lossBox = box(), isoBox = box(), residBox = box();
    const chart = (title, el) => h("div", { class: "chart", "data-chart": title }, h("h3", {}, title), el);
    root.append(head, stats, h("h2", {}, "Progress (N x D)"), grid, h("h2", {}, "Fit"), law,
      h("div", { class: "charts" }, chart("final loss vs N", lossBox), chart("IsoFLOP profiles", isoBox), chart("residuals", residBox)),
      h("h2", {}, "Compute-optimal allocation"), optimal, notes);
    const charts = { loss: null, iso: null, resid: null };
    let analysisKey = null;
    return {
      async refresh() {
        const s = await api("/api/sweeps/" + encodeURIComponent(id));
        swap(head, h("h1", {}, "Sweep ", h("span", { id: "sweep-id" }, s.id), " ", stateBadge(s.state), " ",
          h("a", { id: "report-link", href: "/api/sweeps/" + encodeURIComponent(s.id) + "/report.md", target: "_blank" }, "Markdown report"), " ",
          h("a", { href: "#/runs?sweep=" + encodeURIComponent(s.id) }, "runs")));
        swap(stats, h("div", { class: "cards" }, card("done", `${s.done} / ${s.total}`, "done"), card("failed", String(s.failed), "failed"),
          card("folder", s.folder, "folder")));
        swap(grid, progressGrid(s));
        // Refit only when a run completed since the last fit (the server caches fits the same way).
        const key = s.runs.filter(r => r.state === "Completed").map(r => r.key + "=" + r.val_loss).join(";");
        if (key === analysisKey) return;
        const a = await api("/api/sweeps/" + encodeURIComponent(id) + "/analysis");
        analysisKey = key;
        renderFit(a, law, optimal, notes);
        drawCharts(a, charts, lossBox, isoBox, residBox);
      },
      destroy() { Object.values(charts).forEach(c => c && c.destroy()); },
    };
  },
};

function progressGrid(s) {
  const byBudget = s.runs.some(r => r.flop_budget != null);
  const col = r => byBudget ? r.flop_budget : r.tokens;
  const ns = [...new Set(s.runs.map(r => r.n))].sort((a, b) => a - b);
  const cols = [...new Set(s.runs.map(col))].sort((a, b) => a - b);
  return table([byBudget ? "N \\ FLOP budget" : "N \\ tokens D", ...cols.map(c => F.g3(c))], ns.map(n => h("tr", {},
    h("th", {}, F.g3(n)),
    cols.map(c => {
      const cell = s.runs.filter(r => r.n === n && col(r) === c);
      if (cell.length === 0) return h("td", {}, "");
      return h("td", {}, cell.map(r => {
        const frac = r.total_steps > 0 ? Math.min(1, r.step / r.total_steps) : 0;
        return h("div", { class: r.state, "data-key": r.key, title: r.key + (r.failures.length ? "\n" + r.failures.join("\n") : "") },
          r.run_id ? h("a", { href: "#/runs/" + encodeURIComponent(r.run_id) }, r.state) : r.state,
          h("div", { "data-field": "loss" }, F.loss(r.val_loss ?? r.loss)),
          h("div", { class: "bar" }, h("i", { style: `width:${(100 * frac).toFixed(0)}%` })));
      }));
    }))));
}

function renderFit(a, law, optimal, notes) {
  const f = a.fit;
  if (!f) {
    swap(law, h("div", { class: "muted" }, `no L(N, D) fit yet (${a.completed} completed runs)`));
    swap(optimal, h("div", { class: "muted" }, "-"));
  } else {
    const ci = f.intervals;
    const iv = k => ci ? ` [${F.g3(ci[k][0])}, ${F.g3(ci[k][1])}]` : "";
    swap(law, h("div", {},
      h("div", { class: "cards" }, card("E", F.g3(f.E) + iv("E"), "E"), card("A", F.g3(f.A) + iv("A"), "A"), card("alpha", Number(f.alpha).toFixed(3) + iv("alpha"), "alpha"),
        card("B", F.g3(f.B) + iv("B"), "B"), card("beta", Number(f.beta).toFixed(3) + iv("beta"), "beta"), card("runs fitted", String(f.points), "points")),
      h("div", { class: "muted", id: "law-text" }, `L(N, D) = ${F.g3(f.E)} + ${F.g3(f.A)}/N^${Number(f.alpha).toFixed(3)} + ${F.g3(f.B)}/D^${Number(f.beta).toFixed(3)}` +
        (a.bootstrap > 0 && ci ? `; 95% intervals from ${f.bootstrap} bootstrap resamples` : ""))));
    swap(optimal, table(["budget C (FLOPs)", "N*", "N* 95%", "D*", "D* 95%", "tokens / param", "predicted loss"],
      f.compute_optimal.map(o => h("tr", { "data-flops": o.flops },
        h("td", { class: "num" }, F.g3(o.flops)), h("td", { class: "num", "data-field": "n" }, F.g3(o.n)),
        h("td", { class: "num" }, o.n_interval ? `[${F.g3(o.n_interval[0])}, ${F.g3(o.n_interval[1])}]` : "-"),
        h("td", { class: "num", "data-field": "d" }, F.g3(o.d)),
        h("td", { class: "num" }, o.d_interval ? `[${F.g3(o.d_interval[0])}, ${F.g3(o.d_interval[1])}]` : "-"),
        h("td", { class: "num" }, (o.d / o.n).toFixed(1)), h("td", { class: "num", "data-field": "loss" }, F.loss(o.loss))))));
  }
  const lines = [...a.notes];
  if (a.n_exponent != null) lines.unshift(`IsoFLOP: N* ∝ C^${a.n_exponent.toFixed(3)}, D* ∝ C^${a.d_exponent.toFixed(3)}`);
  swap(notes, lines.length ? h("ul", { class: "notes" }, lines.map(n => h("li", {}, n))) : h("div"));
}

function drawCharts(a, charts, lossBox, isoBox, residBox) {
  Object.values(charts).forEach(c => c && c.destroy());
  // Final loss vs N: per budget, the runs' points, the law's curve and its band.
  const tables = [], series = [], bands = [];
  const groups = [...new Set(a.points.map(p => p.flop_budget != null ? "C=" + p.flop_budget : "D=" + p.d))];
  groups.forEach((g, i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = a.points.filter(p => (p.flop_budget != null ? "C=" + p.flop_budget : "D=" + p.d) === g).sort((x, y) => x.n - y.n);
    tables.push([pts.map(p => p.n), pts.map(p => p.loss)]);
    const label = g.startsWith("C=") ? "C " + F.g3(Number(g.slice(2))) : "D " + F.g3(Number(g.slice(2)));
    series.push({ label, points: true, line: false, color });
    const curve = a.curves.find(c => (c.kind === "flops" ? "C=" : "D=") + c.value === g);
    if (curve) {
      const cols = [curve.loss];
      series.push({ label: label + " law", color });
      if (curve.lower) {
        cols.push(curve.upper, curve.lower);
        series.push({ label: label + " 95% high", color, band: true }, { label: label + " 95% low", color, band: true });
      }
      tables.push([curve.n, ...cols]);
    }
  });
  // Band fills between each upper/lower pair (series indexes are 1-based in uPlot).
  series.forEach((s, i) => { if (s.band && s.label.endsWith("high")) bands.push({ series: [i + 1, i + 2], fill: s.color + "22" }); });
  charts.loss = new Chart(lossBox, { series, bands, x: { label: "N (non-embedding parameters)", log: true }, y: { label: "final val loss", log: true }, height: 300, empty: "no completed runs yet" });
  charts.loss.set(tables.length ? joinSeries(tables) : [[]]);

  // IsoFLOP: per FLOP budget, the runs and the fitted parabola in ln N, with the minimum marked.
  if (a.isoflop.length) {
    const isoTables = [], isoSeries = [];
    a.isoflop.forEach((m, i) => {
      const color = PALETTE[i % PALETTE.length];
      const pts = a.points.filter(p => p.flop_budget === m.flops).sort((x, y) => x.n - y.n);
      const lo = Math.log(pts[0].n / 1.5), hi = Math.log(pts[pts.length - 1].n * 1.5);
      const xs = [...Array(40).keys()].map(k => Math.exp(lo + (hi - lo) * k / 39));
      const par = x => m.parabola[0] + m.parabola[1] * Math.log(x) + m.parabola[2] * Math.log(x) ** 2;
      isoTables.push([pts.map(p => p.n), pts.map(p => p.loss)], [xs, xs.map(par)], [[m.optimal_n], [m.loss]]);
      isoSeries.push({ label: "C " + F.g3(m.flops), points: true, line: false, color }, { label: "parabola", color },
        { label: "minimum N* " + F.g3(m.optimal_n), points: true, line: false, color: "#000" });
    });
    charts.iso = new Chart(isoBox, { series: isoSeries, x: { label: "N", log: true }, y: { label: "final val loss" }, height: 300 });
    charts.iso.set(joinSeries(isoTables));
  } else {
    charts.iso = new Chart(isoBox, { series: [{ label: "-" }], x: { label: "N" }, y: {}, empty: "no IsoFLOP budgets in this sweep (flop_budgets in the spec)" });
    charts.iso.set([[]]);
  }

  // Residuals: final loss minus the law's prediction, per run.
  const withResid = a.points.filter(p => p.residual != null).sort((x, y) => x.n - y.n);
  charts.resid = new Chart(residBox, { series: [{ label: "loss - law", points: true, line: false, color: PALETTE[1] }], x: { label: "N", log: true }, y: { label: "residual" }, height: 300, empty: "no fit yet" });
  charts.resid.set(withResid.length ? joinSeries([[withResid.map(p => p.n), withResid.map(p => p.residual)]]) : [[]]);
}
