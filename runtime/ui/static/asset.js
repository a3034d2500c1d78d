// An asset's page: its definition, status, checks, materializations, lineage and data.
import { api, assetLink, badge, counted, esc, failingRows, fmtS, lastError, main, runLink, showError } from "./core.js";
import { partitionGrid } from "./partitions.js";
import { runsTable } from "./runs.js";

export async function assetPage(name) {
  const [a, history, latest] = await Promise.all(["", "/history", "/latest"].map((p) => api(`assets/${encodeURIComponent(name)}${p}`)));
  const latestSchema = (history.materializations.find((m) => m.schema) || {}).schema || [];
  const columns = latestSchema.length ? latestSchema : a.columns.map((c) => [c, ""]);
  main().innerHTML = `
    <h1>${esc(a.name)} ${badge(a.status)}</h1>
    <p class="muted">${esc(a.kind)} · ${esc(a.materialized)} · ${esc(a.relation)} · ${esc(a.path)}${a.last_built_at ? ` · built ${esc(a.last_built_at)} UTC` : ""}</p>
    ${a.description ? `<p>${esc(a.description)}</p>` : ""}
    ${a.freshness ? `<p id="freshness">Freshness <span class="muted">(max_lag ${esc(a.freshness.policy)})</span> ${badge(a.freshness.status)} ${esc(a.freshness.message)}</p>` : ""}
    ${lastError(latest.error)}
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
  if (a.partitioned) { // drawn when it comes; a failed fetch (the server gone) is said there
    const grid = document.getElementById("partitions");
    partitionGrid(name, grid, a.partition_dimensions).catch((err) => showError(grid, err));
  }
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
    return `<tr><td>${esc(c.name)}</td><td>${esc(c.kind)}</td><td>${esc(c.severity)}</td><td>${r ? badge(r.status) : "<span class='muted'>not run</span>"}</td><td>${r ? failingRows(r) : ""}</td><td>${r ? runLink(r.run_id) : ""}</td><td><span class="grid-row">${history}</span></td><td>${esc(r?.message || "")}</td></tr>`;
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
  return `<table class="materializations"><tr><th>at (UTC)</th><th>run</th><th>partition</th><th>rows</th><th>took</th><th>metadata</th></tr>${items.slice(0, 20).map((m) => `<tr><td>${esc(m.at)}</td><td>${runLink(m.run_id)}</td><td>${esc(m.partition || "")}</td><td>${esc(m.rows ?? "")}</td><td>${fmtS(m.duration_s)}</td><td>${esc(m.metadata ? Object.entries(m.metadata).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ") : "")}</td></tr>`).join("")}</table>`;
}
