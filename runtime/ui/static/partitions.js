// An asset's partition grid: a cell per partition, coloured by status; picked cells are
// refreshed through the Launch page.
import { api, badge, counted, esc } from "./core.js";

export async function partitionGrid(name, where) {
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
