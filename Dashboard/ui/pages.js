// Cluster, Runs and one run's page. Each page builds its frame once and refresh() fills it from the API; the router
// calls refresh() every few seconds, so numbers and charts move without a reload.
"use strict";

const ClusterPage = {
  mount(root) {
    const health = h("div", { id: "health" }), silos = h("div"), workers = h("div"), counts = h("div");
    root.append(h("h1", {}, "Cluster"), health, h("h2", {}, "Workers"), workers, h("h2", {}, "Processes"), silos, counts);
    return {
      async refresh() {
        const c = await api("/api/cluster");
        const k = c.coordinator;
        swap(health, h("div", { class: "cards" },
          card("coordinator", k ? stateBadge(k.status) : "not found", "coordinator-status"),
          card("address", k ? k.address : "-", "coordinator-address"),
          card("up", k ? F.duration(k.uptime_seconds) : "-", "coordinator-uptime"),
          card("workers", String(c.workers.length), "worker-count"),
          card("runs", Object.entries(c.runs).map(([s, n]) => `${n} ${s}`).join(", ") || "none", "run-counts"),
          card("sweeps", Object.entries(c.sweeps).map(([s, n]) => `${n} ${s}`).join(", ") || "none", "sweep-counts")));
        swap(workers, table(["worker", "state", "device", "slot", "memory", "host", "pid", "run", "registered"],
          c.workers.map(w => h("tr", { "data-worker": w.id },
            h("td", {}, w.id), h("td", { "data-field": "state" }, stateBadge(w.state), w.reason ? h("span", { class: "muted" }, " " + w.reason) : null),
            h("td", { "data-field": "device" }, w.device + (w.device_name ? ` (${w.device_name})` : "")),
            h("td", { class: "num", "data-field": "slot" }, `${w.slot + 1}/${w.slots}`),
            h("td", { class: "num", "data-field": "memory" }, F.gib(w.memory_bytes)),
            h("td", {}, w.host), h("td", { class: "num", "data-field": "pid" }, String(w.process_id)),
            h("td", { "data-field": "run" }, w.run_id ? h("a", { href: "#/runs/" + encodeURIComponent(w.run_id) }, w.run_id) : "-"),
            h("td", {}, F.datetime(w.registered_at))))));
        swap(silos, table(["process", "address", "host", "status", "started", "last heartbeat"],
          c.silos.map(s => h("tr", {}, h("td", {}, s.name), h("td", {}, s.address), h("td", {}, s.host),
            h("td", {}, stateBadge(s.status)), h("td", {}, F.datetime(s.started_at)), h("td", {}, F.time(s.last_heartbeat))))));
      },
    };
  },
};

const RUN_STATES = ["Pending", "Rendezvous", "Running", "Recovering", "Completed", "Failed", "Cancelled"];

const RunsPage = {
  mount(root, params) {
    const state = h("select", { id: "filter-state" }, h("option", { value: "" }, "any state"), RUN_STATES.map(s => h("option", { value: s }, s)));
    const sweep = h("select", { id: "filter-sweep" }, h("option", { value: "" }, "any sweep"));
    const body = h("div");
    if (params.get("state")) state.value = params.get("state");
    const filters = h("div", { class: "filters" }, h("label", {}, "state ", state), h("label", {}, "sweep ", sweep));
    root.append(h("h1", {}, "Runs"), filters, body);
    let runs = [];
    const render = () => {
      const rows = runs.filter(r => (!state.value || r.state === state.value) && (!sweep.value || r.sweep === sweep.value));
      swap(body, table(["run", "state", "step", "loss", "val loss", "tokens/s", "MFU", "world", "generation", "ETA", "started", "finished", "sweep"],
        rows.slice().reverse().map(r => h("tr", { "data-run": r.id },
          h("td", {}, h("a", { href: "#/runs/" + encodeURIComponent(r.id) }, r.id)),
          h("td", { "data-field": "state" }, stateBadge(r.state)),
          h("td", { class: "num", "data-field": "step" }, `${r.step}/${r.total_steps}`),
          h("td", { class: "num", "data-field": "loss" }, F.loss(r.loss)),
          h("td", { class: "num", "data-field": "val_loss" }, F.loss(r.val_loss)),
          h("td", { class: "num", "data-field": "tokens_per_second" }, F.int(r.tokens_per_second)),
          h("td", { class: "num", "data-field": "mfu" }, F.pct(r.mfu)),
          h("td", { class: "num", "data-field": "world_size" }, String(r.world_size)),
          h("td", { class: "num", "data-field": "generation" }, String(r.generation)),
          h("td", { class: "num", "data-field": "eta" }, F.duration(r.eta_seconds)),
          h("td", {}, F.datetime(r.started_at)), h("td", {}, F.datetime(r.ended_at)),
          h("td", { "data-field": "sweep" }, r.sweep ? h("a", { href: "#/sweeps/" + encodeURIComponent(r.sweep) }, r.sweep) : "-")))));
    };
    state.addEventListener("change", render);
    sweep.addEventListener("change", render);
    return {
      async refresh() {
        runs = await api("/api/runs");
        const sweeps = [...new Set(runs.map(r => r.sweep).filter(Boolean))];
        const have = [...sweep.options].map(o => o.value);
        for (const s of sweeps) if (!have.includes(s)) sweep.append(h("option", { value: s }, s));
        if (params.get("sweep") && !sweep.value && sweeps.includes(params.get("sweep"))) sweep.value = params.get("sweep");
        render();
      },
    };
  },
};

const EVENT_KINDS = ["WorkerLost", "WorkerJoined", "Restarted", "Checkpoint"];
const MAX_EVENT_ROWS = 30; // the newest; the charts mark them all

/** The newest log lines a run page shows (the whole ring: `orch run logs`). */
const LOG_LINES = 200;

const RunPage = {
  mount(root, params, id) {
    const head = h("div"), stats = h("div");
    const xSelect = h("select", { id: "loss-x" }, h("option", { value: "step" }, "steps"), h("option", { value: "tokens" }, "tokens"), h("option", { value: "flops" }, "FLOPs"));
    const box = () => h("div", { class: "chart-plot" });
    const lossBox = box(), lrBox = box(), tpsBox = box(), mfuBox = box(), worldBox = box();
    const chart = (title, el, extra) => h("div", { class: "chart", "data-chart": title }, h("h3", {}, title, extra), el);
    const checkpoints = h("div"), events = h("div"), transitions = h("div"), spec = h("pre", { id: "spec" }), log = h("pre", { id: "run-log" });
    root.append(head, stats,
      h("div", { class: "charts" },
        chart("loss", lossBox, h("span", {}, "against ", xSelect)),
        chart("world size", worldBox, markerLegend()),
        chart("tokens/s", tpsBox), chart("learning rate", lrBox), chart("MFU", mfuBox)),
      h("h2", {}, "Checkpoints"), checkpoints, h("h2", {}, "Events"), events, h("h2", {}, "State changes"), transitions,
      h("h2", {}, "Log ", h("span", { class: "muted" }, `(last ${LOG_LINES} lines; orch run logs ${id})`)), log,
      h("h2", {}, "Spec"), spec);
    const loss = new Chart(lossBox, { series: [{ label: "train loss" }, { label: "val loss", points: true, line: false, color: PALETTE[1] }], x: { label: "step" }, y: { label: "loss", log: true } });
    const lr = new Chart(lrBox, { series: [{ label: "lr", color: PALETTE[4] }], x: { label: "step" }, y: { label: "lr" }, empty: "this trainer reports no learning rate" });
    const tps = new Chart(tpsBox, { series: [{ label: "tokens/s", color: PALETTE[2], format: F.int }], x: { time: true }, y: { label: "tokens/s" } });
    const mfu = new Chart(mfuBox, { series: [{ label: "MFU", color: PALETTE[3], format: F.pct }], x: { time: true }, y: { label: "MFU", format: F.pct }, empty: "no MFU (CPU runs have none)" });
    const world = new Chart(worldBox, { series: [{ label: "world size", stepped: true, color: PALETTE[5] }], x: { time: true }, y: { label: "ranks", range: (u, lo, hi) => [0, Math.max(1, hi) + 1] } });
    let last = null;
    const drawLoss = () => {
      if (!last) return;
      const key = xSelect.value;
      const pts = last.history.filter(p => p[key] != null).sort((a, b) => a[key] - b[key]);
      loss.opts.x = { label: key === "step" ? "step" : key, log: key !== "step" };
      if (loss.xKey !== key) { loss.destroy(); loss.key = null; loss.xKey = key; }
      const marks = key === "step" ? last.events.filter(e => EVENT_KINDS.includes(e.kind)).map(e => ({ x: e.step, kind: e.kind, title: e.detail })) : [];
      loss.set([pts.map(p => p[key]), pts.map(p => p.loss), pts.map(p => p.val_loss)], marks);
    };
    xSelect.addEventListener("change", drawLoss);
    return {
      async refresh() {
        const r = last = await api("/api/runs/" + encodeURIComponent(id));
        swap(head, h("h1", {}, "Run ", h("span", { id: "run-id" }, r.id), " ", stateBadge(r.state),
          r.sweep ? h("span", { class: "muted" }, " of sweep ", h("a", { href: "#/sweeps/" + encodeURIComponent(r.sweep) }, r.sweep)) : null,
          r.reason ? h("div", { class: "muted", id: "run-reason" }, r.reason) : null));
        swap(stats, h("div", { class: "cards" },
          card("step", h("span", {}, h("span", { id: "run-step" }, String(r.step)), " / ", h("span", { id: "run-total" }, String(r.total_steps))), "step"),
          card("loss", F.loss(r.loss), "loss"), card("val loss", F.loss(r.val_loss), "val_loss"),
          card("tokens/s", F.int(r.tokens_per_second), "tokens_per_second"), card("MFU", F.pct(r.mfu), "mfu"),
          card("world size", String(r.world_size), "world_size"), card("generation", String(r.generation), "generation"),
          card("ETA", F.duration(r.eta_seconds), "eta"), card("workers", r.workers.join(", ") || "-", "workers")));
        drawLoss();
        const hist = r.history.slice().sort((a, b) => a.step - b.step);
        const withLr = hist.filter(p => p.lr != null);
        lr.set(withLr.length ? [withLr.map(p => p.step), withLr.map(p => p.lr)] : [[]]);
        const byTime = r.history.slice().sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
        const t = p => Date.parse(p.at) / 1000;
        tps.set([byTime.map(t), byTime.map(p => p.tokens_per_second)]);
        const withMfu = byTime.filter(p => p.mfu != null);
        mfu.set(withMfu.length ? [withMfu.map(t), withMfu.map(p => p.mfu)] : [[]]);
        // World size over time: a step at every membership event, held until now (or the end).
        const ev = r.events.filter(e => e.kind === "Generation" || e.kind === "WorkerLost");
        const wx = ev.map(e => Date.parse(e.at) / 1000), wy = ev.map(e => e.world_size);
        if (ev.length) { wx.push((r.ended_at ? Date.parse(r.ended_at) : Date.now()) / 1000); wy.push(wy[wy.length - 1]); }
        const marks = r.events.filter(e => EVENT_KINDS.includes(e.kind)).map(e => ({ x: Date.parse(e.at) / 1000, kind: e.kind, title: `${e.kind} at step ${e.step}: ${e.detail}` }));
        world.set([wx, wy], marks);
        swap(checkpoints, r.checkpoints.length === 0 ? h("div", { class: "muted" }, "none yet") :
          table(["step", "generation", "world size", "written", "path"], r.checkpoints.slice().reverse().map(c => h("tr", { "data-checkpoint": c.step },
            h("td", { class: "num" }, String(c.step)), h("td", { class: "num" }, String(c.generation)), h("td", { class: "num" }, String(c.world_size)),
            h("td", {}, F.time(c.at)), h("td", {}, c.path)))));
        swap(events, table(["time", "event", "step", "generation", "world size", "detail"], r.events.slice().reverse().slice(0, MAX_EVENT_ROWS).map(e => h("tr", { "data-kind": e.kind },
          h("td", {}, F.time(e.at)), h("td", {}, e.kind), h("td", { class: "num" }, String(e.step)), h("td", { class: "num" }, String(e.generation)),
          h("td", { class: "num" }, String(e.world_size)), h("td", {}, e.detail)))));
        swap(transitions, table(["time", "state", "generation", "reason"], r.transitions.map(x => h("tr", {},
          h("td", {}, F.time(x.at)), h("td", {}, stateBadge(x.state)), h("td", { class: "num" }, String(x.generation)), h("td", {}, x.reason)))));
        const lg = await api("/api/runs/" + encodeURIComponent(id) + "/logs?tail=" + LOG_LINES);
        const logText = lg.lines.map(l => `${l.at} rank ${l.rank} ${l.worker_id} ${l.level.toUpperCase()} ${l.message}`).join("\n") || "no lines yet";
        if (log.textContent !== logText) log.textContent = logText;
        const specText = JSON.stringify(r.spec, null, 2);
        if (spec.textContent !== specText) spec.textContent = specText;
      },
      destroy() { [loss, lr, tps, mfu, world].forEach(c => c.destroy()); },
    };
  },
};
