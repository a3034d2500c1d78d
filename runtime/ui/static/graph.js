// The asset graph (the start page): a selection, find an asset, a summary beside it.
import { api, assetLink, badge, esc, main } from "./core.js";
import { GROUP_LIMIT, STATUS_COLORS, drawGraph, groupGraph } from "./graph_layout.js";

export async function graphPage(params) {
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


function showGroup(group) {
  const side = document.getElementById("side");
  const shown = group.members.slice(0, 500);
  side.innerHTML = `<h2>${esc(group.label)}</h2><p>${group.count} assets: ${Object.entries(group.statuses).map(([s, n]) => `${badge(s)} ${n}`).join(" ")}</p>
    <ul>${shown.map((n) => `<li>${n.kind === "source" ? esc(n.id) : assetLink(n.id)} <a class="muted" href="#/?select=${encodeURIComponent(`+${n.id}+`)}">focus</a></li>`).join("")}</ul>${group.count > shown.length ? `<p class="muted">and ${group.count - shown.length} more: find them by name.</p>` : ""}`;
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
