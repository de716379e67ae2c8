// The router: #/cluster, #/runs, #/runs/ID, #/sweeps, #/sweeps/ID. The page in view refreshes every POLL_MS without a
// reload; the "live" badge turns red when the coordinator stops answering.
"use strict";
const POLL_MS = 2000;
let current = null, timer = null, generation = 0;

function route() {
  const [path, query] = (location.hash.replace(/^#/, "") || "/cluster").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  if (parts[0] === "runs" && parts[1]) return ["runs", RunPage, params, parts[1]];
  if (parts[0] === "runs") return ["runs", RunsPage, params];
  if (parts[0] === "sweeps" && parts[1]) return ["sweeps", SweepPage, params, parts[1]];
  if (parts[0] === "sweeps") return ["sweeps", SweepsPage, params];
  return ["cluster", ClusterPage, params];
}

async function tick(gen) {
  if (gen !== generation || !current) return;
  const live = document.getElementById("live");
  try {
    await current.refresh();
    live.classList.remove("stale"); live.textContent = "live";
    document.getElementById("page-error").textContent = "";
  } catch (e) {
    live.classList.add("stale"); live.textContent = "offline";
    const err = document.getElementById("page-error");
    if (err) err.textContent = e.message;
  }
  if (gen === generation) timer = setTimeout(() => tick(gen), POLL_MS);
}

function show() {
  clearTimeout(timer);
  if (current && current.destroy) current.destroy();
  const [nav, page, params, id] = route();
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.dataset.nav === nav));
  const app = document.getElementById("app");
  app.replaceChildren(h("div", { class: "error", id: "page-error" }));
  current = page.mount(app, params, id);
  tick(++generation);
}

window.addEventListener("hashchange", show);
show();
