// The asset graph (the start page): a selection, find an asset, a summary beside it; the
// statuses are polled, so a build from the command line shows without a reload.
import { api, assetLink, badge, counted, esc, fmtBytes, lastError, main, onLeave, runLink } from "./core.js";
import { findBox } from "./find.js";
import { GROUP_LIMIT, STATUS_COLORS, drawGraph, groupGraph } from "./graph_layout.js";

const STATUS_POLL_MS = 3000; // how often the graph asks for the assets' statuses

// ``keep``: the asset whose panel was open when the project changed and the graph is drawn again
export async function graphPage(params, keep = null) {
  const select = params.get("select") || "";
  main().innerHTML = `
    <div class="toolbar">
      <form id="select-form" class="toolbar">
        <input type="text" id="select" placeholder="selection: marts+  tag:finance  +orders" value="${esc(select)}">
        <button>Select</button>
        ${select ? `<button type="button" class="secondary" id="clear">All assets</button>` : ""}
      </form>
      <span class="find"><input type="text" id="search" placeholder="find an asset: int_ord" autocomplete="off" spellcheck="false"><div id="matches" class="matches" hidden></div></span>
      <span class="legend">${Object.entries(STATUS_COLORS).map(([k, c]) => `<span style="--c:${c}">${k}</span>`).join("")}<span class="building" title="a run builds it now">building</span></span>
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
      view.onPick(node.id);
      view.highlight(node.id, "selected");
    }
  });
  if (collapsed) {
    document.getElementById("side").innerHTML = `<p>${visible.length} assets: folders are shown collapsed. Click a folder, type a selection, or find an asset.</p>`;
  }
  let shownId = null; // the asset the side panel shows
  const side = (id) => { shownId = id; showSide(byId.get(id)); };
  const names = new Map(data.nodes.map((n) => [n.id, n.id.replace(/^source:/, "")]));
  findBox(document.getElementById("search"), document.getElementById("matches"), names, (id) => {
    if (!view.center(id)) location.hash = `#/?select=${encodeURIComponent(`+${id}+`)}`;
    else { view.highlight(id, "hit"); side(id); }
  });
  view.onPick = side;
  if (keep && byId.has(keep)) { view.highlight(keep, "selected"); side(keep); }
  // a build from the command line (or a run ending): new colours, the panel brought up to
  // date; an edited file (another load of the project): the graph drawn again
  let left = false;
  const poll = async () => {
    try {
      const { statuses, version, building } = await api("statuses");
      if (left) return;
      if (version !== data.version) {
        clearInterval(timer);
        graphPage(params, shownId).catch(() => {});
        return;
      }
      for (const [id, status] of Object.entries(statuses)) {
        const node = byId.get(id);
        if (!node || node.status === status) continue;
        node.status = status;
        view.setStatus(id, status);
        if (id === shownId) side(id);
      }
      // what a run builds now: outlined (its status colour stays what it was)
      const now = new Set(building || []);
      for (const el of document.querySelectorAll("#graph .node")) el.classList.toggle("building", now.has(el.dataset.id));
    } catch (err) { /* the banner says when the project does not load */ }
  };
  const timer = setInterval(poll, STATUS_POLL_MS);
  poll(); // at once: what a run builds now is outlined from the start
  onLeave(() => { left = true; clearInterval(timer); });
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
    const key = n.id.replace(/^source:/, "");
    side.innerHTML = `<h2>${esc(key)}</h2>${badge("source")}<dl class="facts"><dt>reads</dt><dd>${esc(n.relation)}</dd><dt>kind</dt><dd>${esc(n.materialized)}</dd></dl><div id="side-source"></div>`;
    api(`sources/${encodeURIComponent(key)}`).then((s) => {
      const where = document.getElementById("side-source");
      if (!where || side.querySelector("h2")?.textContent !== key) return; // another node since
      const f = s.files;
      where.innerHTML = (s.description ? `<p>${esc(s.description)}</p>` : "")
        + (f ? `<p class="files">${counted(f.count, "file")} · ${fmtBytes(f.bytes)}${f.modified ? ` · modified <span class="when">${esc(f.modified)}</span> UTC` : ""}</p>` : "")
        + `<p>Read by ${s.read_by.length ? s.read_by.map(assetLink).join(", ") : "no model"}</p>`;
    }).catch(() => {});
    return;
  }
  side.innerHTML = `<h2>${assetLink(n.id)}</h2>${badge(n.status)}
    <div id="side-latest" class="latest"><p class="muted">…</p></div>
    <dl class="facts"><dt>kind</dt><dd>${esc(n.kind)} · ${esc(n.materialized)}</dd><dt>relation</dt><dd>${esc(n.relation)}</dd>
    <dt>group</dt><dd>${esc(n.group)}</dd>${n.folder !== n.group ? `<dt>folder</dt><dd>${esc(n.folder)}</dd>` : ""}<dt>tags</dt><dd>${esc(n.tags.join(", "))}</dd>
    <dt>checks</dt><dd>${n.checks.length ? `<ul class="check-names">${n.checks.map((c) => `<li title="${esc(c)}">${esc(c).replace(/_/g, "_<wbr>")}</li>`).join("")}</ul>` : "none"}</dd>
    <dt>partitioned</dt><dd>${n.partitioned ? "yes" : "no"}</dd></dl>
    <p class="toolbar"><a class="button" href="#/asset/${encodeURIComponent(n.id)}">Open</a>
    <a class="button secondary" href="#/?select=${encodeURIComponent(`+${n.id}+`)}">Focus</a>
    <a class="button secondary" href="#/launch?select=${encodeURIComponent(n.id)}">Materialize…</a></p>`;
  api(`assets/${encodeURIComponent(n.id)}/latest`).then((found) => {
    const where = document.getElementById("side-latest");
    if (!where || side.querySelector("h2 a")?.textContent !== n.id) return; // another asset since
    const m = found.materialization;
    const e = found.error;
    where.innerHTML = (m
      ? `<p>Last materialized <span class="when">${esc(m.at)}</span> UTC${m.rows != null ? ` · ${counted(m.rows, "row")}` : ""}${m.partition ? ` · ${esc(m.partition)}` : ""} · run ${runLink(m.run_id)}</p>`
      : `<p class="muted">Never materialized.</p>`)
      + (found.freshness ? `<p class="freshness">Freshness <span class="muted">(max_lag ${esc(found.freshness.policy)})</span> ${badge(found.freshness.status)} ${esc(found.freshness.message)}</p>` : "")
      + lastError(e);
  }).catch(() => {});
}
