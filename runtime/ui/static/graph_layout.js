// The asset graph's layout and drawing (the vendored dagre library), and the boxes a
// graph too large to draw is collapsed into.
import { esc } from "./core.js";

const NODE_MAX_WIDTH = 300, CHAR_WIDTH = 7.2; // a box's widest, and a character's width at 12px
export const GROUP_LIMIT = 300; // above this many assets the graph starts with folders collapsed
const LAYER_BANDS = 6; // a large folder is shown as this many boxes at most, by layer
export const STATUS_COLORS = { fresh: "var(--fresh)", stale: "var(--stale)", failed: "var(--failed)", "never built": "var(--never)", partial: "var(--partial)", source: "var(--source)", ephemeral: "#c9d1d9" };

// Too many assets to draw one by one: a box per group (the one a model declares, else
// its folder), or, when one group holds most of them, per group and layer (the longest
// path from a source), so that a large project still shows its shape. A box opens as a selection when it is small enough, else lists
// its assets beside the graph.
export function groupGraph(nodes, edges) {
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
    // a declared group's box selects group:NAME, a folder's the folder; a box whose
    // members disagree (a folder and a group of one name) lists them instead
    const selector = byLayer || n.kind === "source" ? "" : n.group_selector || "";
    g.selector = g.count === 1 || g.selector === selector ? selector : "";
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

export function drawGraph(svg, graph, onClick) {
  const g = new dagre.graphlib.Graph({ compound: graph.clusters });
  g.setGraph({ rankdir: "LR", nodesep: 12, ranksep: 50, marginx: 20, marginy: 20, ranker: "network-simplex" });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) {
    const label = n.label || n.id.replace(/^source:/, "");
    const checks = n.checks && n.checks.length ? ` ✓${n.checks.length}` : "";
    // a name too long for the widest box is cut short (its whole name is the box's tooltip)
    const room = Math.floor((NODE_MAX_WIDTH - 30) / CHAR_WIDTH) - checks.length;
    const cut = label.length > room ? `${label.slice(0, room - 1)}…` : label;
    g.setNode(n.id, { width: 30 + (cut + checks).length * CHAR_WIDTH, height: 30, label: cut, data: n });
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
    parts.push(`<g class="node" data-id="${esc(id)}" data-status="${esc(n.status)}" transform="translate(${box.x - box.width / 2},${box.y - box.height / 2})"><title>${esc(n.id)} · ${esc(n.status)}</title><rect width="${box.width}" height="${box.height}" rx="5"></rect><rect class="status" width="6" height="${box.height}" rx="2" style="fill:${color};stroke:none"></rect><text x="12" y="19">${esc(box.label)}${esc(checks)}</text></g>`);
  }
  const size = g.graph();
  svg.innerHTML = `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#aab4bf"></path></marker></defs><g id="viewport">${parts.join("")}</g>`;
  // the width per character is a guess: a name still wider than its box is cut further
  for (const el of svg.querySelectorAll(".node")) {
    const text = el.querySelector("text");
    const room = Number(el.querySelector("rect").getAttribute("width")) - 16;
    const checks = (g.node(el.dataset.id).data.checks || []).length;
    let label = g.node(el.dataset.id).label.replace(/…$/, "");
    while (text.getComputedTextLength() > room && label.length > 3) {
      label = label.slice(0, -1);
      text.textContent = `${label}…${checks ? ` ✓${checks}` : ""}`;
    }
  }
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
    onPick: () => {}, // set by the page: what a click on an asset shows
    setStatus(id, status) {
      const el = svg.querySelector(`.node[data-id="${CSS.escape(id)}"]`);
      if (!el) return;
      el.querySelector("rect.status").style.fill = STATUS_COLORS[status] || "var(--never)";
      el.querySelector("title").textContent = `${id} · ${status}`;
      el.dataset.status = status;
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
