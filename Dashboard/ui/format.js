// Formatting and DOM helpers shared by every page. Numbers are shown with fixed rules (the browser tests read them
// back): loss 4 decimals, tokens/s grouped integers, MFU as a percent with 1 decimal, sizes in G3 style.
"use strict";
const F = {
  loss: v => v == null ? "-" : Number(v).toFixed(4),
  int: v => v == null ? "-" : Math.round(v).toLocaleString("en-US"),
  pct: v => v == null ? "-" : (100 * v).toFixed(1) + "%",
  g3: v => v == null ? "-" : Number(v).toPrecision(3).replace(/\.?0+e/, "e").replace("e+", "e"),
  gib: b => b == null ? "-" : (b / 1073741824).toFixed(1) + " GiB",
  time: t => t == null ? "-" : new Date(t).toLocaleTimeString("en-GB", { hour12: false }),
  datetime: t => {
    if (t == null) return "-";
    const d = new Date(t), p = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  },
  duration: s => {
    if (s == null) return "-";
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
    return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${x}s` : `${x}s`;
  },
};

// Element builder: h("td", {class: "num", "data-field": "step"}, "12/300")
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : String(c));
  return el;
}

function stateBadge(state) { return h("span", { class: "state " + state, "data-state": state }, state); }

function card(key, value, field) {
  return h("div", { class: "card" }, h("div", { class: "k" }, key), h("div", { class: "v", "data-field": field }, value));
}

function table(headers, rows) {
  return h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, headers.map(x => h("th", {}, x)))), h("tbody", {}, rows)));
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    try { msg = (await r.json()).error || msg; } catch (_) { /* not JSON */ }
    const e = new Error(msg); e.status = r.status; throw e;
  }
  return r.json();
}

// Replaces a container's content only when it changed, so scroll positions and open selects survive a refresh.
function swap(container, node) {
  const html = node.outerHTML;
  if (container.dataset.html === html) return;
  container.dataset.html = html;
  container.replaceChildren(node);
}
