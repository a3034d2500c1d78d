// "Find an asset": names matching what is typed anywhere in them (int_ord finds
// int_orders and int_order_lines), best first: the name itself, then names starting
// with it, then the earliest match, then the shortest. Enter picks the first; arrows
// move; Escape closes.
import { esc } from "./core.js";

const SHOWN = 12; // matches listed at most

export function matches(names, typed) {
  const q = typed.trim().toLowerCase();
  if (!q) return [];
  const found = [];
  for (const name of names) {
    const at = name.toLowerCase().indexOf(q);
    if (at >= 0) found.push([name.toLowerCase() === q ? 0 : at === 0 ? 1 : 2, at, name]);
  }
  found.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2].length - b[2].length || a[2].localeCompare(b[2]));
  return found.map((f) => f[2]);
}

// a find box over ``names`` (id -> label); ``pick(id)`` is called with the chosen one
export function findBox(input, list, names, pick) {
  let shown = [];
  let active = 0;
  const label = (id) => names.get(id);
  const mark = (text, q) => {
    const at = text.toLowerCase().indexOf(q.toLowerCase());
    return at < 0 ? esc(text) : `${esc(text.slice(0, at))}<b>${esc(text.slice(at, at + q.length))}</b>${esc(text.slice(at + q.length))}`;
  };
  const draw = () => {
    const q = input.value.trim();
    if (!q) { list.hidden = true; return; }
    const all = matches([...names.keys()].map(label), q);
    const byLabel = new Map([...names.entries()].map(([id, text]) => [text, id]));
    shown = all.slice(0, SHOWN).map((text) => byLabel.get(text));
    active = Math.min(active, Math.max(0, shown.length - 1));
    list.innerHTML = shown.length
      ? shown.map((id, i) => `<div class="match${i === active ? " active" : ""}" data-id="${esc(id)}">${mark(label(id), q)}</div>`).join("")
        + (all.length > shown.length ? `<div class="muted more">and ${all.length - shown.length} more: type more of the name</div>` : "")
      : `<div class="muted none">No asset matches “${esc(q)}”.</div>`;
    list.hidden = false;
    list.querySelectorAll(".match").forEach((el) => el.addEventListener("mousedown", (e) => {
      e.preventDefault(); // before the input's blur closes the list
      choose(el.dataset.id);
    }));
  };
  const choose = (id) => {
    list.hidden = true;
    input.value = label(id);
    pick(id);
  };
  input.addEventListener("input", () => { active = 0; draw(); });
  input.addEventListener("focus", draw);
  input.addEventListener("blur", () => { list.hidden = true; });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      draw();
      if (shown.length) choose(shown[active]);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % Math.max(1, shown.length);
      draw();
    } else if (e.key === "Escape") {
      list.hidden = true;
    }
  });
}
