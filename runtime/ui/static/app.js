// teal ui: a single page over the JSON API (runtime/ui/server.py). Views by hash route:
// #/ (asset graph), #/asset/NAME, #/runs, #/runs/ID, #/launch, #/automation.
"use strict";

const GROUP_LIMIT = 300; // above this many assets the graph starts with folders collapsed
const LAYER_BANDS = 6; // a large folder is shown as this many boxes at most, by layer
const POLL_MS = 1000; // a live run page asks for new events this often
const main = () => document.getElementById("main");
let token = new URLSearchParams(location.search).get("token") || sessionStorage.getItem("teal-token");
if (token) sessionStorage.setItem("teal-token", token);
let stopPolling = null; // the current page's poller, stopped when the page changes

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function badge(status) { return `<span class="badge ${esc(String(status).replace(/ /g, "-").split("-")[0])}">${esc(status)}</span>`; }
function link(route, text) { return `<a href="#/${route}">${esc(text)}</a>`; }
function assetLink(name) { return link(`asset/${encodeURIComponent(name)}`, name); }
function runLink(id) { return link(`runs/${encodeURIComponent(id)}`, id); }
function counted(n, noun) { return `${n.toLocaleString("en")} ${n === 1 ? noun : `${noun}s`}`; }
function fmtS(s) { return s == null ? "" : s < 60 ? `${s.toFixed(2)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`; }

async function api(path, body) {
  const headers = {};
  if (token) headers["X-Teal-Token"] = token;
  const init = { headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/${path}`, init);
  const data = await response.json();
  if (!response.ok) {
    const err = new Error(data.error || response.statusText);
    err.hint = data.hint;
    err.where = data.where && data.where !== "<project>" ? data.where : null;
    throw err;
  }
  return data;
}
function showError(where, err) {
  where.innerHTML = `<div class="error">${esc(err.message)}${err.hint ? `<br><span class="muted">hint: ${esc(err.hint)}</span>` : ""}</div>`;
}

// -- routing -------------------------------------------------------------------------------
const routes = [
  [/^#\/asset\/(.+)$/, (m) => assetPage(decodeURIComponent(m[1])), "graph"],
  [/^#\/runs\/(.+)$/, (m) => runPage(decodeURIComponent(m[1])), "runs"],
  [/^#\/runs\/?(\?.*)?$/, (m) => runsPage(new URLSearchParams((m[1] || "").slice(1))), "runs"],
  [/^#\/launch\/?(\?.*)?$/, (m) => launchPage(new URLSearchParams((m[1] || "").slice(1))), "launch"],
  [/^#\/automation\/?$/, () => automationPage(), "automation"],
  [/^#?\/?(\?.*)?$/, (m) => graphPage(new URLSearchParams((m[1] || "").slice(1))), "graph"],
];
// -- the banner: shown on every page while the project's files do not load -------------------
const PROJECT_CHECK_MS = 5000;
async function checkProject() {
  const banner = document.getElementById("banner");
  try {
    const info = await api("project");
    document.getElementById("project-name").textContent = `${info.name} · ${counted(info.models, "model")}`;
    banner.hidden = true;
  } catch (err) {
    banner.innerHTML = `<b>The project does not load:</b> ${esc(err.where ? `${err.where}: ` : "")}${esc(err.message)}`
      + (err.hint ? `<br><span class="muted">hint: ${esc(err.hint)}</span>` : "")
      + `<br><span class="muted">Runs and schedules are shown; nothing is planned or launched until the file is fixed.</span>`;
    banner.hidden = false;
  }
}

function route() {
  checkProject();
  if (stopPolling) { stopPolling(); stopPolling = null; }
  const hash = location.hash || "#/";
  for (const [pattern, view, nav] of routes) {
    const m = hash.match(pattern);
    if (m) {
      document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
      view(m).catch((err) => showError(main(), err));
      return;
    }
  }
  main().innerHTML = `<p>No page ${esc(hash)}.</p>`;
}
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  route();
  setInterval(checkProject, PROJECT_CHECK_MS);
});

// -- the asset graph -----------------------------------------------------------------------
const STATUS_COLORS = { fresh: "var(--fresh)", stale: "var(--stale)", failed: "var(--failed)", "never built": "var(--never)", partial: "var(--partial)", source: "var(--source)", ephemeral: "#c9d1d9" };

async function graphPage(params) {
  const select = params.get("select") || "";
  main().innerHTML = `
    <div class="toolbar">
      <form id="select-form" class="toolbar">
        <input type="text" id="select" placeholder="selection: marts+  tag:finance  +orders" value="${esc(select)}">
        <button>Select</button>
        ${select ? `<button type="button" class="secondary" id="clear">All assets</button>` : ""}
      </form>
      <input type="text" id="search" placeholder="find an asset" list="asset-names">
      <datalist id="asset-names"></datalist>
      <span class="legend">${Object.entries(STATUS_COLORS).map(([k, c]) => `<span style="--c:${c}">${k}</span>`).join("")}</span>
    </div>
    <div class="graph-wrap"><svg id="graph"></svg><aside id="side"><p class="muted">Click an asset.</p></aside></div>`;
  document.getElementById("select-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = document.getElementById("select").value.trim();
    location.hash = value ? `#/?select=${encodeURIComponent(value)}` : "#/";
  });
  document.getElementById("clear")?.addEventListener("click", () => { location.hash = "#/"; });
  const data = await api(`graph?select=${encodeURIComponent(select)}`);
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  document.getElementById("asset-names").innerHTML = data.nodes.filter((n) => n.kind !== "source").map((n) => `<option value="${esc(n.id)}">`).join("");
  let visible = data.nodes;
  if (data.selected) {
    const chosen = new Set(data.selected);
    visible = data.nodes.filter((n) => chosen.has(n.id));
  }
  const ids = new Set(visible.map((n) => n.id));
  const edges = data.edges.filter(([a, b]) => ids.has(a) && ids.has(b));
  const collapsed = visible.length > GROUP_LIMIT;
  const drawn = collapsed ? groupGraph(visible, edges) : { nodes: visible, edges, clusters: true };
  const view = drawGraph(document.getElementById("graph"), drawn, (node) => {
    if (node.group_of && node.selector && node.count <= GROUP_LIMIT) {
      location.hash = `#/?select=${encodeURIComponent(node.selector)}`;
    } else if (node.group_of) {
      showGroup(node);
      view.highlight(node.id, "selected");
    } else {
      showSide(byId.get(node.id));
      view.highlight(node.id, "selected");
    }
  });
  if (collapsed) {
    document.getElementById("side").innerHTML = `<p>${visible.length} assets: folders are shown collapsed. Click a folder, type a selection, or find an asset.</p>`;
  }
  document.getElementById("search").addEventListener("change", (e) => {
    const name = e.target.value.trim();
    if (!byId.has(name)) return;
    if (!view.center(name)) location.hash = `#/?select=${encodeURIComponent(`+${name}+`)}`;
    else { view.highlight(name, "hit"); showSide(byId.get(name)); }
  });
}

// Too many assets to draw one by one: a box per folder, or, when one folder holds most of
// them, per folder and layer (the longest path from a source), so that a large project
// still shows its shape. A box opens as a selection when it is small enough, else lists
// its assets beside the graph.
function groupGraph(nodes, edges) {
  const folders = new Set(nodes.map((n) => n.group));
  const byLayer = [...folders].some((f) => nodes.filter((n) => n.group === f).length > GROUP_LIMIT);
  const depth = byLayer ? layers(nodes, edges) : new Map();
  // layers in at most LAYER_BANDS bands: a box per layer of a deep graph would be too
  // many boxes and edges to lay out quickly
  const band = Math.max(1, Math.ceil((Math.max(0, ...depth.values()) + 1) / LAYER_BANDS));
  const keyOf = (n) => {
    if (!byLayer) return n.group;
    const b = Math.floor(depth.get(n.id) / band);
    return band === 1 ? `${n.group} · layer ${b}` : `${n.group} · layers ${b * band}-${b * band + band - 1}`;
  };
  const groups = new Map();
  for (const n of nodes) {
    const key = keyOf(n);
    const g = groups.get(key) || { id: `group:${key}`, label: key, count: 0, statuses: {}, group_of: n.group, kind: n.kind, members: [] };
    g.count += 1;
    g.members.push(n);
    g.statuses[n.status] = (g.statuses[n.status] || 0) + 1;
    g.selector = byLayer || n.kind === "source" || n.group === "(top)" ? "" : n.group;
    groups.set(key, g);
  }
  const groupOf = new Map(nodes.map((n) => [n.id, `group:${keyOf(n)}`]));
  const seen = new Set();
  const grouped = [];
  for (const [a, b] of edges) {
    const ga = groupOf.get(a), gb = groupOf.get(b);
    if (ga !== gb && !seen.has(`${ga}>${gb}`)) { seen.add(`${ga}>${gb}`); grouped.push([ga, gb]); }
  }
  const out = [...groups.values()].map((g) => {
    const worst = ["failed", "stale", "partial", "never built", "fresh", "ephemeral", "source"].find((s) => g.statuses[s]);
    return { ...g, id: g.id, status: worst, label: `${g.label} (${g.count})` };
  });
  return { nodes: out, edges: grouped, clusters: false };
}

function layers(nodes, edges) {
  const ups = new Map(nodes.map((n) => [n.id, []]));
  for (const [a, b] of edges) ups.get(b)?.push(a);
  const depth = new Map();
  const visit = (id) => {
    if (depth.has(id)) return depth.get(id);
    depth.set(id, 0); // a cycle cannot happen in a DAG; this guards the recursion anyway
    const d = Math.max(-1, ...ups.get(id).map(visit)) + 1;
    depth.set(id, d);
    return d;
  };
  nodes.forEach((n) => visit(n.id));
  return depth;
}

function showGroup(group) {
  const side = document.getElementById("side");
  const shown = group.members.slice(0, 500);
  side.innerHTML = `<h2>${esc(group.label)}</h2><p>${group.count} assets: ${Object.entries(group.statuses).map(([s, n]) => `${badge(s)} ${n}`).join(" ")}</p>
    <ul>${shown.map((n) => `<li>${n.kind === "source" ? esc(n.id) : assetLink(n.id)} <a class="muted" href="#/?select=${encodeURIComponent(`+${n.id}+`)}">focus</a></li>`).join("")}</ul>${group.count > shown.length ? `<p class="muted">and ${group.count - shown.length} more: find them by name.</p>` : ""}`;
}

function drawGraph(svg, graph, onClick) {
  const g = new dagre.graphlib.Graph({ compound: graph.clusters });
  g.setGraph({ rankdir: "LR", nodesep: 12, ranksep: 50, marginx: 20, marginy: 20, ranker: "network-simplex" });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) {
    const label = n.label || n.id.replace(/^source:/, "");
    const shown = label + (n.checks && n.checks.length ? ` ✓${n.checks.length}` : "");
    g.setNode(n.id, { width: Math.min(300, 30 + shown.length * 7.2), height: 30, label, data: n });
    if (graph.clusters) {
      const cluster = `cluster:${n.group}`;
      if (!g.hasNode(cluster)) g.setNode(cluster, { label: n.group, cluster: true });
      g.setParent(n.id, cluster);
    }
  }
  for (const [a, b] of graph.edges) g.setEdge(a, b);
  dagre.layout(g);
  const parts = [];
  for (const id of g.nodes()) {
    const box = g.node(id);
    if (!box.cluster) continue;
    parts.push(`<g class="cluster"><rect x="${box.x - box.width / 2}" y="${box.y - box.height / 2}" width="${box.width}" height="${box.height}" rx="6"></rect><text x="${box.x - box.width / 2 + 6}" y="${box.y - box.height / 2 + 13}">${esc(box.label)}</text></g>`);
  }
  for (const e of g.edges()) {
    const points = g.edge(e).points;
    parts.push(`<path class="edge" d="M${points.map((p) => `${p.x},${p.y}`).join(" L")}" marker-end="url(#arrow)"></path>`);
  }
  for (const id of g.nodes()) {
    const box = g.node(id);
    if (box.cluster) continue;
    const n = box.data;
    const color = STATUS_COLORS[n.status] || "var(--never)";
    const checks = n.checks && n.checks.length ? ` ✓${n.checks.length}` : "";
    parts.push(`<g class="node" data-id="${esc(id)}" transform="translate(${box.x - box.width / 2},${box.y - box.height / 2})"><title>${esc(n.id)} · ${esc(n.status)}</title><rect width="${box.width}" height="${box.height}" rx="5"></rect><rect width="6" height="${box.height}" rx="2" style="fill:${color};stroke:none"></rect><text x="12" y="19">${esc(box.label)}${esc(checks)}</text></g>`);
  }
  const size = g.graph();
  svg.innerHTML = `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#aab4bf"></path></marker></defs><g id="viewport">${parts.join("")}</g>`;
  const vb = { x: 0, y: 0, w: Math.max(size.width, 400), h: Math.max(size.height, 300) };
  const apply = () => svg.setAttribute("viewBox", `${vb.x} ${vb.y} ${vb.w} ${vb.h}`);
  apply();
  let drag = null;
  svg.onmousedown = (e) => { drag = { x: e.clientX, y: e.clientY, vx: vb.x, vy: vb.y }; };
  window.onmouseup = () => { drag = null; };
  svg.onmousemove = (e) => {
    if (!drag) return;
    const scale = vb.w / svg.clientWidth;
    vb.x = drag.vx - (e.clientX - drag.x) * scale;
    vb.y = drag.vy - (e.clientY - drag.y) * scale;
    apply();
  };
  svg.onwheel = (e) => {
    e.preventDefault();
    const factor = e.deltaY > 0 ? 1.15 : 1 / 1.15;
    const rect = svg.getBoundingClientRect();
    const px = vb.x + ((e.clientX - rect.left) / rect.width) * vb.w;
    const py = vb.y + ((e.clientY - rect.top) / rect.height) * vb.h;
    vb.w *= factor; vb.h *= factor;
    vb.x = px - ((e.clientX - rect.left) / rect.width) * vb.w;
    vb.y = py - ((e.clientY - rect.top) / rect.height) * vb.h;
    apply();
  };
  svg.querySelectorAll(".node").forEach((el) => el.addEventListener("click", () => onClick(g.node(el.dataset.id).data)));
  return {
    highlight(id, cls) {
      svg.querySelectorAll(`.node.${cls}`).forEach((el) => el.classList.remove(cls));
      svg.querySelector(`.node[data-id="${CSS.escape(id)}"]`)?.classList.add(cls);
    },
    center(id) {
      if (!g.hasNode(id)) return false;
      const box = g.node(id);
      vb.x = box.x - vb.w / 2; vb.y = box.y - vb.h / 2;
      apply();
      return true;
    },
  };
}

function showSide(n) {
  const side = document.getElementById("side");
  if (!n) return;
  if (n.kind === "source") {
    side.innerHTML = `<h2>${esc(n.id.replace(/^source:/, ""))}</h2>${badge("source")}<dl class="facts"><dt>reads</dt><dd>${esc(n.relation)}</dd><dt>kind</dt><dd>${esc(n.materialized)}</dd></dl>`;
    return;
  }
  side.innerHTML = `<h2>${assetLink(n.id)}</h2>${badge(n.status)}
    <dl class="facts"><dt>kind</dt><dd>${esc(n.kind)} · ${esc(n.materialized)}</dd><dt>relation</dt><dd>${esc(n.relation)}</dd>
    <dt>folder</dt><dd>${esc(n.group)}</dd><dt>tags</dt><dd>${esc(n.tags.join(", "))}</dd><dt>checks</dt><dd>${esc(n.checks.join(", ") || "none")}</dd>
    <dt>partitioned</dt><dd>${n.partitioned ? "yes" : "no"}</dd></dl>
    <p class="toolbar"><a class="button" href="#/asset/${encodeURIComponent(n.id)}">Open</a>
    <a class="button secondary" href="#/?select=${encodeURIComponent(`+${n.id}+`)}">Focus</a>
    <a class="button secondary" href="#/launch?select=${encodeURIComponent(n.id)}">Materialize…</a></p>`;
}

// -- one asset -----------------------------------------------------------------------------
async function assetPage(name) {
  const a = await api(`assets/${encodeURIComponent(name)}`);
  const history = await api(`assets/${encodeURIComponent(name)}/history`);
  const latestSchema = (history.materializations.find((m) => m.schema) || {}).schema || [];
  const columns = latestSchema.length ? latestSchema : a.columns.map((c) => [c, ""]);
  main().innerHTML = `
    <h1>${esc(a.name)} ${badge(a.status)}</h1>
    <p class="muted">${esc(a.kind)} · ${esc(a.materialized)} · ${esc(a.relation)} · ${esc(a.path)}${a.last_built_at ? ` · built ${esc(a.last_built_at)}` : ""}</p>
    ${a.description ? `<p>${esc(a.description)}</p>` : ""}
    <p class="toolbar"><a class="button" href="#/launch?select=${encodeURIComponent(a.name)}">Materialize…</a>
      <a class="button secondary" href="#/?select=${encodeURIComponent(`+${a.name}+`)}">Show in graph</a>
      <button class="secondary" id="preview-button">Preview data</button></p>
    <div id="preview"></div>
    <div class="cols">
      <div><h2>Upstream</h2><p>${[...a.upstreams.map(assetLink), ...a.sources.map(esc)].join(", ") || "<span class='muted'>none</span>"}</p></div>
      <div><h2>Downstream</h2><p>${a.downstreams.map(assetLink).join(", ") || "<span class='muted'>none</span>"}</p></div>
    </div>
    <h2>Column lineage</h2><div id="column-lineage"><p class="muted">Tracing…</p></div>
    ${a.partitioned ? `<h2>Partitions</h2><div id="partitions"><p class="muted">Loading…</p></div>` : ""}
    <h2>Checks</h2>${checksTable(a.checks, history.checks)}
    <h2>Materializations</h2>${materializationsChart(history.materializations)}${materializationsTable(history.materializations)}
    <div class="cols">
      <div><h2>Columns</h2>${columns.length ? `<table><tr><th>column</th><th>type</th></tr>${columns.map(([c, t]) => `<tr><td>${esc(c)}</td><td>${esc(t)}</td></tr>`).join("")}</table>` : "<p class='muted'>known once built</p>"}</div>
      <div><h2>Runs</h2>${runsTable(history.runs.slice(0, 10))}</div>
    </div>
    <h2>${a.kind === "sql" ? "SQL as written" : "Python source"}</h2><pre>${esc(a.raw_sql || "")}</pre>
    ${a.compiled_sql ? `<h2>Compiled SQL</h2><pre>${esc(a.compiled_sql)}</pre>` : ""}`;
  document.getElementById("preview-button").addEventListener("click", async () => {
    const where = document.getElementById("preview");
    try {
      const p = await api(`assets/${encodeURIComponent(name)}/preview`);
      where.innerHTML = p.available
        ? `<table><tr>${p.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>${p.rows.map((r) => `<tr>${r.map((v) => `<td>${esc(v)}</td>`).join("")}</tr>`).join("")}</table>`
        : `<p class="muted">${esc(p.message)}</p>`;
    } catch (err) { showError(where, err); }
  });
  if (a.partitioned) partitionGrid(name, document.getElementById("partitions"));
  columnLineage(name, document.getElementById("column-lineage"));
}

async function columnLineage(name, where) {
  try {
    const found = await api(`assets/${encodeURIComponent(name)}/lineage`);
    if (!found.known) { where.innerHTML = "<p class='muted'>Not known before it is built (a Python asset without a declared schema).</p>"; return; }
    const ref = (table, column) => (table.includes(".") ? esc(`${table}.${column}`) : `${assetLink(table)}.${esc(column)}`);
    where.innerHTML = `<table class="column-lineage"><tr><th>column</th><th>made of</th><th>read by</th></tr>${found.columns.map((c) => `<tr><td>${esc(c.name)}${c.resolved ? "" : " <span class='muted'>(not fully traced)</span>"}</td><td>${c.upstream.map((e) => `${ref(e.table, e.column)} <span class="muted">${esc(e.kind)}</span>`).join("<br>") || "<span class='muted'>no column (a constant)</span>"}</td><td>${c.downstream.map((u) => `${assetLink(u.model)}.${esc(u.column)} <span class="muted">${esc(u.kind)}</span>`).join("<br>")}</td></tr>`).join("")}</table>`;
  } catch (err) { showError(where, err); }
}

function checksTable(checks, results) {
  if (!checks.length) return "<p class='muted'>No checks.</p>";
  const byCheck = {};
  for (const r of results) (byCheck[r.check] = byCheck[r.check] || []).push(r); // newest first
  const rows = checks.map((c) => {
    const past = byCheck[c.name] || [];
    const r = past[0];
    const history = past.slice(0, 20).reverse().map((h) => `<span class="cell ${h.status === "pass" ? "materialized" : h.status === "warn" ? "stale" : "failed"}" title="${esc(h.at)} · ${esc(h.status)}${h.partition ? ` · ${esc(h.partition)}` : ""}"></span>`).join("");
    return `<tr><td>${esc(c.name)}</td><td>${esc(c.kind)}</td><td>${esc(c.severity)}</td><td>${r ? badge(r.status) : "<span class='muted'>not run</span>"}</td><td>${r && r.failing_rows != null ? esc(r.failing_rows) : ""}</td><td>${r ? runLink(r.run_id) : ""}</td><td><span class="grid-row">${history}</span></td><td>${esc(r?.message || "")}</td></tr>`;
  });
  return `<table class="checks"><tr><th>check</th><th>kind</th><th>severity</th><th>last result</th><th>failing rows</th><th>run</th><th>history (oldest to newest)</th><th>message</th></tr>${rows.join("")}</table>`;
}

function materializationsChart(items) {
  const points = items.filter((m) => m.rows != null).slice(0, 40).reverse();
  if (points.length < 2) return "";
  const max = Math.max(...points.map((m) => m.rows), 1);
  const w = 600, h = 80, bw = w / points.length;
  return `<svg width="${w}" height="${h + 14}" class="rows-chart">${points.map((m, i) => `<rect x="${i * bw + 1}" y="${h - (m.rows / max) * h}" width="${bw - 2}" height="${(m.rows / max) * h}" fill="#8fc7c7"><title>${esc(m.at)} · ${counted(m.rows, "row")}${m.partition ? ` · ${esc(m.partition)}` : ""}</title></rect>`).join("")}<text x="0" y="${h + 12}" font-size="10" fill="#6b7785">rows per materialization, oldest to newest (max ${max})</text></svg>`;
}

function materializationsTable(items) {
  if (!items.length) return "<p class='muted'>Never materialized.</p>";
  return `<table><tr><th>at</th><th>run</th><th>partition</th><th>rows</th><th>took</th><th>metadata</th></tr>${items.slice(0, 20).map((m) => `<tr><td>${esc(m.at)}</td><td>${runLink(m.run_id)}</td><td>${esc(m.partition || "")}</td><td>${esc(m.rows ?? "")}</td><td>${fmtS(m.duration_s)}</td><td>${esc(m.metadata ? Object.entries(m.metadata).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ") : "")}</td></tr>`).join("")}</table>`;
}

async function partitionGrid(name, where) {
  const rows = await api(`assets/${encodeURIComponent(name)}/partitions`);
  const picked = new Set();
  const twoD = rows.some((r) => r.key.includes("|"));
  const lines = new Map();
  for (const r of rows) {
    const [line, col] = twoD ? r.key.split("|") : [r.key.slice(0, 7), r.key];
    if (!lines.has(line)) lines.set(line, []);
    lines.get(line).push({ ...r, col });
  }
  const counts = {};
  for (const r of rows) counts[r.status] = (counts[r.status] || 0) + 1;
  where.innerHTML = `<p>${Object.entries(counts).map(([s, n]) => `${badge(s)} ${n}`).join(" ")}</p>
    <div class="grid">${[...lines.entries()].map(([line, cells]) => `<div class="grid-row"><span class="label">${esc(line)}</span>${cells.map((c) => `<span class="cell ${esc(c.status)}" data-key="${esc(c.key)}" title="${esc(c.key)} · ${esc(c.status)}${c.rows != null ? ` · ${counted(c.rows, "row")}` : ""}${c.note ? ` · ${esc(c.note)}` : ""}"></span>`).join("")}</div>`).join("")}</div>
    <p class="toolbar"><span id="picked" class="muted">Click partitions to pick them.</span><button id="refresh-picked" disabled>Refresh picked partitions…</button></p>`;
  where.querySelectorAll(".cell").forEach((el) => el.addEventListener("click", () => {
    const key = el.dataset.key;
    if (picked.has(key)) picked.delete(key); else picked.add(key);
    el.classList.toggle("picked");
    document.getElementById("picked").textContent = picked.size ? [...picked].join(", ") : "Click partitions to pick them.";
    document.getElementById("refresh-picked").disabled = !picked.size;
  }));
  document.getElementById("refresh-picked").addEventListener("click", () => {
    location.hash = `#/launch?select=${encodeURIComponent(name)}&partitions=${encodeURIComponent([...picked].join(","))}`;
  });
}

// -- runs ----------------------------------------------------------------------------------
function runsTable(runs) {
  if (!runs.length) return "<p class='muted'>No runs.</p>";
  return `<table class="runs"><tr><th>run</th><th>status</th><th>started by</th><th>selection</th><th>started</th><th>took</th><th>note</th></tr>${runs.map((r) => `<tr><td>${runLink(r.run_id)}</td><td>${badge(r.status)}</td><td>${esc(r.started_by)}</td><td>${esc(r.selection.join(" ") || "(all)")}${r.partitions.length ? ` <span class="muted">[${esc(r.partitions_summary)}]</span>` : ""}</td><td>${esc(r.started_at || r.created_at || "")}</td><td>${fmtS(r.duration_s)}</td><td>${esc(r.message || "")}</td></tr>`).join("")}</table>`;
}

async function runsPage(params) {
  const status = params.get("status") || "";
  const model = params.get("model") || "";
  main().innerHTML = `<h1>Runs</h1>
    <form class="toolbar" id="filters"><select id="status"><option value="">any status</option>${["queued", "started", "success", "failure", "canceled", "crashed"].map((s) => `<option ${s === status ? "selected" : ""}>${s}</option>`).join("")}</select>
    <input type="text" id="model" placeholder="model" value="${esc(model)}"><button>Filter</button></form><div id="runs-list"></div>`;
  document.getElementById("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (document.getElementById("status").value) q.set("status", document.getElementById("status").value);
    if (document.getElementById("model").value.trim()) q.set("model", document.getElementById("model").value.trim());
    location.hash = `#/runs?${q}`;
  });
  const load = async () => {
    const q = new URLSearchParams({ limit: "100" });
    if (status) q.set("status", status);
    if (model) q.set("model", model);
    document.getElementById("runs-list").innerHTML = runsTable(await api(`runs?${q}`));
  };
  await load();
  const timer = setInterval(() => load().catch(() => {}), 3000);
  stopPolling = () => clearInterval(timer);
}

async function runPage(id) {
  let after = 0;
  let logLines = [];
  const draw = (data) => {
    const r = data.run;
    const live = !data.finished;
    for (const e of data.events) {
      if (e.seq > after) after = e.seq;
      logLines.push(e);
    }
    const checks = logLines.filter((e) => e.kind === "check_result");
    main().innerHTML = `
      <h1>Run ${esc(r.run_id)} <span id="run-status">${badge(r.status)}</span></h1>
      <p class="muted">${esc(r.command)} · started by <span id="run-by">${esc(r.started_by)}</span> · ${esc(r.selection.join(" ") || "(all)")}${r.partitions.length ? ` · partitions ${esc(r.partitions_summary)}` : ""}${r.parent_run_id ? ` · retry of ${runLink(r.parent_run_id)}` : ""}</p>
      <p>${esc(r.message || "")}</p>
      <p class="toolbar">${["queued", "started"].includes(r.status) ? `<button id="cancel">Cancel</button>` : ""}
        ${data.finished && r.status !== "success" ? `<button id="retry">Retry what did not finish</button>` : ""}</p>
      <h2>Timeline</h2>${gantt(data.steps, r)}
      <h2>Steps</h2><table class="steps"><tr><th>model</th><th>partition</th><th>try</th><th>status</th><th>took</th><th>rows</th><th>note</th></tr>${data.steps.map((s) => `<tr><td>${assetLink(s.model)}</td><td>${esc(s.partition_key || "")}</td><td>${s.attempt}</td><td>${badge(s.status)}</td><td>${s.started_at && s.finished_at ? fmtS((new Date(s.finished_at) - new Date(s.started_at)) / 1000) : ""}</td><td>${esc(s.rows ?? "")}</td><td>${esc(s.message || "")}</td></tr>`).join("")}</table>
      <h2>Checks</h2>${checks.length ? `<table class="run-checks"><tr><th>model</th><th>check</th><th>status</th><th>failing rows</th><th>message</th></tr>${checks.map((e) => `<tr><td>${esc(e.model)}</td><td>${esc(e.data.check)}</td><td>${badge(e.data.status)}</td><td>${esc(e.data.failing_rows ?? "")}</td><td>${esc(e.message || "")}</td></tr>`).join("")}</table>` : "<p class='muted'>No check results.</p>"}
      <h2>Events and logs ${live ? "<span class='muted'>(live)</span>" : ""}</h2>
      <div class="logs">${logLines.map((e) => `<div class="${esc(e.level || "")}">${esc(e.at.slice(11))} ${esc(e.kind)} ${esc(e.model || "")}${e.partition ? `[${esc(e.partition)}]` : ""} ${esc(e.kind === "check_result" ? `${e.data.check} ${e.data.status} ` : "")}${esc(e.message || "")}</div>`).join("")}</div>`;
    document.getElementById("cancel")?.addEventListener("click", async () => {
      try { await api(`runs/${encodeURIComponent(id)}/cancel`, {}); } catch (err) { alert(err.message); }
    });
    document.getElementById("retry")?.addEventListener("click", async () => {
      try { const out = await api(`runs/${encodeURIComponent(id)}/retry`, {}); location.hash = `#/runs/${out.run_id}`; } catch (err) { alert(err.message); }
    });
    return live;
  };
  const first = await api(`runs/${encodeURIComponent(id)}`);
  if (!draw(first)) return;
  let stopped = false;
  stopPolling = () => { stopped = true; };
  const poll = async () => {
    if (stopped) return;
    try {
      const data = await api(`runs/${encodeURIComponent(id)}?after=${after}`);
      if (stopped) return;
      if (!draw(data)) return;
    } catch (err) { /* the next poll tries again */ }
    setTimeout(poll, POLL_MS);
  };
  setTimeout(poll, POLL_MS);
}

function gantt(steps, run) {
  const timed = steps.filter((s) => s.started_at);
  if (!timed.length) return "<p class='muted'>No step has started.</p>";
  const t = (s) => new Date(s.replace(" ", "T") + "Z").getTime();
  const start = Math.min(...timed.map((s) => t(s.started_at)));
  const now = run.finished_at ? t(run.finished_at) : Date.now();
  const end = Math.max(now, ...timed.map((s) => (s.finished_at ? t(s.finished_at) : now)), start + 1);
  const w = 900, row = 16, label = 200;
  const bars = timed.map((s, i) => {
    const x0 = label + ((t(s.started_at) - start) / (end - start)) * (w - label);
    const x1 = label + (((s.finished_at ? t(s.finished_at) : now) - start) / (end - start)) * (w - label);
    const color = { success: "var(--fresh)", failure: "var(--failed)", skipped: "var(--stale)", started: "var(--running)" }[s.status] || "var(--never)";
    return `<text x="0" y="${i * row + 12}" font-size="11">${esc(s.model)}${s.partition_key ? ` [${esc(s.partition_key)}]` : ""}</text><rect class="bar" x="${x0}" y="${i * row + 2}" width="${Math.max(2, x1 - x0)}" height="${row - 4}" fill="${color}"><title>${esc(s.model)} · ${esc(s.status)}</title></rect>`;
  });
  return `<svg class="gantt" width="${w}" height="${timed.length * row + 16}">${bars.join("")}<text x="${label}" y="${timed.length * row + 12}" font-size="10" fill="#6b7785">${fmtS((end - start) / 1000)} in all</text></svg>`;
}

// -- launching -----------------------------------------------------------------------------
async function launchPage(params) {
  main().innerHTML = `<h1>Launch a build</h1>
    <form id="launch-form">
      <p class="toolbar"><label>Select <input type="text" id="l-select" value="${esc(params.get("select") || "")}" placeholder="marts+ (empty: everything)"></label>
      <label>Exclude <input type="text" id="l-exclude" value="${esc(params.get("exclude") || "")}"></label></p>
      <p class="toolbar"><label>Partitions <input type="text" id="l-partitions" value="${esc(params.get("partitions") || "")}" placeholder="2025-03-01, or 2025-03-01..2025-03-07"></label>
      <label><input type="checkbox" id="l-full"> full refresh</label></p>
      <p class="toolbar"><button type="button" id="show-plan" class="secondary">Show the plan</button><button id="launch" disabled>Launch</button></p>
    </form><div id="plan"></div>`;
  const body = () => ({
    select: document.getElementById("l-select").value,
    exclude: document.getElementById("l-exclude").value,
    partitions: document.getElementById("l-partitions").value.split(/[\s,]+/).filter(Boolean),
    full_refresh: document.getElementById("l-full").checked,
  });
  const where = document.getElementById("plan");
  document.getElementById("show-plan").addEventListener("click", async () => {
    try {
      const plan = await api("plan", body());
      where.innerHTML = plan.steps.length
        ? `<h2>${counted(plan.steps.length, "step")}</h2><table class="plan"><tr><th>model</th><th>action</th><th>why</th><th>partitions</th></tr>${plan.steps.map((s) => `<tr><td>${assetLink(s.model)}</td><td>${esc(s.action)}</td><td>${esc(s.blocked ? `blocked: ${s.blocked}` : s.reason)}</td><td>${esc(s.partitions.length || "")}</td></tr>`).join("")}</table>`
        : `<p class="muted">Nothing to build.</p>`;
      document.getElementById("launch").disabled = !plan.steps.length;
    } catch (err) { showError(where, err); }
  });
  document.getElementById("launch-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const out = await api("launch", body());
      location.hash = `#/runs/${encodeURIComponent(out.run_id)}`;
    } catch (err) { showError(where, err); }
  });
  if (params.get("select")) document.getElementById("show-plan").click();
}

// -- schedules and sensors -----------------------------------------------------------------
async function automationPage() {
  const data = await api("automation");
  const ticks = (list) => list.map((t) => `${esc(t.tick_at)} ${badge(t.status)}${t.run_id ? ` ${runLink(t.run_id)}` : ""}`).join("<br>") || "<span class='muted'>none yet</span>";
  // running only when a daemon runs to evaluate it; a paused schedule has no next tick
  const state = (row) => !row.enabled ? badge("disabled") : row.paused ? badge("paused")
    : data.daemon_running ? badge("running") : `${badge("on")} <span class="muted">no daemon runs</span>`;
  const next = (row) => row.paused ? "(paused)" : row.enabled ? row.next_tick || "" : "(disabled)";
  const toggle = (kind, row) => `<button class="secondary" data-pause="${kind}:${esc(row.name)}" data-paused="${row.paused ? "1" : ""}">${row.paused ? "Resume" : "Pause"}</button>`;
  main().innerHTML = `<h1>Schedules and sensors</h1>
    <p>${data.daemon_running ? badge("running") + " the daemon runs for this project" : `<span class="muted">No daemon runs: start <code>teal daemon</code> to run schedules and sensors.</span>`}</p>
    <h2>Schedules</h2>${data.schedules.length ? `<table><tr><th>schedule</th><th>cron</th><th>runs</th><th>next tick</th><th>state</th><th>last ticks</th><th></th></tr>${data.schedules.map((s) => `<tr><td>${esc(s.name)}</td><td>${esc(s.cron)} <span class="muted">${esc(s.timezone)}</span></td><td>${esc(s.runs)}</td><td class="next-tick">${esc(next(s))}</td><td class="state">${state(s)}</td><td>${ticks(s.ticks)}</td><td>${toggle("schedule", s)}</td></tr>`).join("")}</table>` : "<p class='muted'>None.</p>"}
    <h2>Sensors</h2>${data.sensors.length ? `<table><tr><th>sensor</th><th>watches</th><th>runs</th><th>state</th><th>last ticks</th><th></th></tr>${data.sensors.map((s) => `<tr><td>${esc(s.name)}</td><td>${esc(s.watches)}</td><td>${esc(s.runs)}</td><td class="state">${state(s)}</td><td>${ticks(s.ticks)}</td><td>${toggle("sensor", s)}</td></tr>`).join("")}</table>` : "<p class='muted'>None.</p>"}
    <h2>Jobs</h2>${data.jobs.length ? `<table><tr><th>job</th><th>select</th><th>description</th></tr>${data.jobs.map((j) => `<tr><td>${esc(j.name)}</td><td>${esc(j.select.join(" "))}</td><td>${esc(j.description || "")}</td></tr>`).join("")}</table>` : "<p class='muted'>None.</p>"}`;
  main().querySelectorAll("[data-pause]").forEach((el) => el.addEventListener("click", async () => {
    const [kind, ...name] = el.dataset.pause.split(":");
    try {
      await api(`automation/${kind}/${encodeURIComponent(name.join(":"))}/pause`, { paused: !el.dataset.paused });
      automationPage();
    } catch (err) { alert(err.message); }
  }));
}
