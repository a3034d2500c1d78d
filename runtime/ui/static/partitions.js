// An asset's partition grid: a cell per partition, coloured by status. Click picks a
// partition, shift-click picks every one from the last clicked to it (in a 2-D grid, the
// rectangle between them); the buttons pick
// every missing or failed one. The picked partitions are backfilled through the Launch
// page (their plan first): as one range FIRST..LAST when they are all the keys between
// two, else as keys.
import { api, badge, counted, esc } from "./core.js";

const SHOWN_KEYS = 3; // more picked keys than this are summarised as runs of keys
const SHOWN_RUNS = 3; // of more runs than this, the first ones and how many keys are left

// ``dimensions``: the names of a 2-D definition's dimensions (rows, then columns)
export async function partitionGrid(name, where, dimensions = []) {
  const rows = await api(`assets/${encodeURIComponent(name)}/partitions`);
  const order = new Map(rows.map((r, i) => [r.key, i]));
  const picked = new Set();
  let anchor = null; // the last cell clicked: a shift-click picks from it
  const twoD = rows.some((r) => r.key.includes("|"));
  const lines = new Map(); // row label -> {column label -> partition}
  const columns = []; // a 2-D grid's second dimension, in key order
  for (const r of rows) {
    const [line, col] = twoD ? r.key.split("|") : [r.key.slice(0, 7), r.key];
    if (!lines.has(line)) lines.set(line, new Map());
    lines.get(line).set(col, r);
    if (twoD && !columns.includes(col)) columns.push(col);
  }
  const counts = {};
  for (const r of rows) counts[r.status] = (counts[r.status] || 0) + 1;
  const cell = (r) => (r
    ? `<span class="cell ${esc(r.status)}" data-key="${esc(r.key)}" title="${esc(r.key)} · ${esc(r.status)}${r.rows != null ? ` · ${counted(r.rows, "row")}` : ""}${r.note ? ` · ${esc(r.note)}` : ""}"></span>`
    : `<span class="cell none"></span>`);
  const head = twoD
    ? `<div class="grid-row grid-head"><span class="label"></span>${columns.map((c) => `<span class="col" title="${esc(c)}">${esc(c)}</span>`).join("")}</div>`
    : "";
  const body = [...lines.entries()].map(([line, cells]) => `<div class="grid-row"><span class="label">${esc(line)}</span>${(twoD ? columns.map((c) => cells.get(c)) : [...cells.values()]).map(cell).join("")}</div>`);
  const has = (status) => (counts[status] ? "" : " disabled");
  const axes = twoD && dimensions.length === 2 ? ` <span class="muted">· a row per ${esc(dimensions[0])}, a column per ${esc(dimensions[1])}</span>` : "";
  where.innerHTML = `<p>${Object.entries(counts).map(([s, n]) => `${badge(s)} ${n}`).join(" ")}${axes}</p>
    <div class="grid">${head}${body.join("")}</div>
    <p class="toolbar grid-tools"><button class="secondary" data-pick="missing"${has("missing")}>Select missing</button>
      <button class="secondary" data-pick="failed"${has("failed")}>Select failed</button>
      <button class="secondary" data-pick="stale"${has("stale")}>Select stale</button>
      <button class="secondary" data-pick="">Clear</button>
      <span id="picked" class="muted">Click partitions to pick them; shift-click picks a range.</span>
      <button id="refresh-picked" disabled>Backfill picked partitions…</button></p>`;
  const byKey = new Map([...where.querySelectorAll(".cell[data-key]")].map((el) => [el.dataset.key, el]));
  const show = () => {
    for (const [key, el] of byKey) el.classList.toggle("picked", picked.has(key));
    const keys = sorted();
    document.getElementById("picked").textContent = keys.length
      ? `${counted(keys.length, "partition")} picked: ${keys.length <= SHOWN_KEYS ? keys.join(", ") : spans(keys)}`
      : "Click partitions to pick them; shift-click picks a range.";
    const button = document.getElementById("refresh-picked");
    button.disabled = !keys.length;
    button.textContent = keys.length ? `Backfill ${counted(keys.length, "partition")}…` : "Backfill picked partitions…";
  };
  const sorted = () => [...picked].sort((a, b) => order.get(a) - order.get(b));
  // the picked keys as runs of keys that follow each other in key order (a grid of two
  // dimensions: row by row), never one span over a key left out (as teal plan labels
  // them: compiler/key_runs.py)
  const spans = (keys) => {
    const runs = [];
    keys.forEach((k, i) => {
      if (i && order.get(k) === order.get(keys[i - 1]) + 1) runs[runs.length - 1].push(k);
      else runs.push([k]);
    });
    const shown = runs.slice(0, SHOWN_RUNS).map((r) => (r.length === 1 ? r[0] : `${r[0]}..${r[r.length - 1]}`));
    const left = runs.slice(SHOWN_RUNS).reduce((n, r) => n + r.length, 0);
    return shown.join(", ") + (left ? `, +${left} more` : "");
  };
  where.querySelectorAll(".cell[data-key]").forEach((el) => el.addEventListener("click", (e) => {
    const key = el.dataset.key;
    if (e.shiftKey && anchor !== null && twoD) { // the rectangle between the two cells
      const lineOf = [...lines.keys()];
      const at = (k) => [lineOf.indexOf(k.split("|")[0]), columns.indexOf(k.split("|")[1])];
      const [[r0, c0], [r1, c1]] = [at(anchor), at(key)];
      lineOf.slice(Math.min(r0, r1), Math.max(r0, r1) + 1).forEach((line) => columns
        .slice(Math.min(c0, c1), Math.max(c0, c1) + 1)
        .forEach((c) => { const r = lines.get(line).get(c); if (r) picked.add(r.key); }));
    } else if (e.shiftKey && anchor !== null) { // every key from one to the other
      const [from, to] = [order.get(anchor), order.get(key)].sort((a, b) => a - b);
      rows.slice(from, to + 1).forEach((r) => picked.add(r.key));
    } else if (picked.has(key)) picked.delete(key);
    else picked.add(key);
    anchor = key;
    show();
  }));
  where.querySelectorAll("[data-pick]").forEach((el) => el.addEventListener("click", () => {
    if (!el.dataset.pick) picked.clear();
    rows.filter((r) => r.status === el.dataset.pick).forEach((r) => picked.add(r.key));
    show();
  }));
  document.getElementById("refresh-picked").addEventListener("click", () => {
    const keys = sorted();
    const first = order.get(keys[0]);
    const whole = !twoD && keys.length > 2 && order.get(keys[keys.length - 1]) - first === keys.length - 1;
    const partitions = whole ? `${keys[0]}..${keys[keys.length - 1]}` : keys.join(", ");
    location.hash = `#/launch?select=${encodeURIComponent(name)}&partitions=${encodeURIComponent(partitions)}`;
  });
}
