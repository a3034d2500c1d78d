// teal ui: what every page shares: the one API client, HTML escaping, links, badges, and
// the current page's poller (stopped when the page changes).

export const main = () => document.getElementById("main");
const token = new URLSearchParams(location.search).get("token") || sessionStorage.getItem("teal-token");
if (token) sessionStorage.setItem("teal-token", token);
let stopPolling = null; // the current page's poller, stopped when the page changes

// the page's poller: ``stop`` is called when another page opens
export function onLeave(stop) { stopPolling = stop; }
export function leave() {
  if (stopPolling) { stopPolling(); stopPolling = null; }
}

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
export function badge(status) { return `<span class="badge ${esc(String(status).replace(/ /g, "-").split("-")[0])}">${esc(status)}</span>`; }
export function link(route, text) { return `<a href="#/${route}">${esc(text)}</a>`; }
export function assetLink(name) { return link(`asset/${encodeURIComponent(name)}`, name); }
export function runLink(id) { return link(`runs/${encodeURIComponent(id)}`, id); }
export function counted(n, noun) { return `${n.toLocaleString("en")} ${n === 1 ? noun : `${noun}s`}`; }
// a size in bytes as people read it: 512 B, 1.2 kB, 3.4 MB (powers of 1,000)
export function fmtBytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}
export function fmtS(s) {
  if (s == null) return "";
  if (s < 60) return `${s.toFixed(2)}s`;
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  return d ? `${d}d${h}h` : h ? `${h}h${m}m` : `${m}m${Math.floor(s % 60)}s`;
}
// seconds since ``at``, a UTC time as the API writes it (``2026-03-02 03:00:01``)
export function since(at) { return Math.max(0, (Date.now() - Date.parse(`${at.replace(" ", "T")}Z`)) / 1000); }

// -- drawing in place: what a live page redraws each poll, only where it changed ----------
const drawn = new WeakMap(); // element -> the HTML last put in it
// ``el`` holds ``html``: replaced only when it changed (an unchanged part keeps its text
// selection, its focus, and what the user opened in it)
export function update(el, html) {
  if (drawn.get(el) === html) return;
  el.innerHTML = html;
  drawn.set(el, html);
}
// the children of ``parent`` that carry a data-key made to be ``keys``, in that order,
// after the ones without: one whose key is new is ``make(key)``, one whose key is gone is
// removed, the others are kept (moved only when out of order). A Map key -> element.
export function keyedChildren(parent, keys, make) {
  const have = new Map([...parent.children].filter((c) => c.dataset.key !== undefined).map((c) => [c.dataset.key, c]));
  const wanted = new Set(keys);
  for (const [key, el] of have) if (!wanted.has(key)) el.remove();
  const out = new Map();
  let prev = null;
  for (const key of keys) {
    let el = have.get(key);
    if (!el) { el = make(key); el.dataset.key = key; }
    const at = prev ? prev.nextElementSibling : [...parent.children].find((c) => c.dataset.key !== undefined) || null;
    if (el !== at) parent.insertBefore(el, at);
    out.set(key, el);
    prev = el;
  }
  return out;
}
export async function api(path, body) {
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
// an asset's last error (GET /api/assets/NAME/latest): the run, the partition, the file
export function lastError(e) {
  if (!e) return "";
  return `<div class="error last-error"><b>Last error</b> in run ${runLink(e.run_id)}${e.partition ? `, partition ${esc(e.partition)}` : ""}${e.failed > 1 ? ` (and ${e.failed - 1} more)` : ""}:<br>${e.where ? `<code class="where">${esc(e.where)}</code>: ` : ""}${esc(e.message || "")}</div>`;
}
// a check result's failing rows, and the first of them as the build printed it
export function failingRows(result) {
  return `${esc(result.failing_rows ?? "")}${result.sample ? `<br><code class="sample">e.g. ${esc(result.sample)}</code>` : ""}`;
}
// drawn every time, not through update(): the element may have been cleared or drawn
// over since (the launch page clears its error before asking again), and the same error
// must show again
export function showError(where, err) {
  const html = `<div class="error">${err.where ? `${esc(err.where)}: ` : ""}${esc(err.message)}${err.hint ? `<br><span class="muted">hint: ${esc(err.hint)}</span>` : ""}</div>`;
  where.innerHTML = html;
  drawn.set(where, html); // a later update() with the same error leaves it as it is
}
