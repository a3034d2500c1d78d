// The Steps table of a run's page, redrawn in place row by row. A step (a model, each try)
// is one row; a partitioned step's partitions are grouped under it (how many, how many of
// each status, and, opened, a row per partition with its status and time), as Dagster's
// per-partition step view. A skipped step's reason links to the step that failed.
import { assetLink, badge, esc, fmtS, keyedChildren, update } from "./core.js";

const STATUSES = ["success", "failure", "started", "skipped", "canceled"]; // the counts' order

export function stepsView(where) {
  where.innerHTML = `<table class="steps"><thead><tr><th>model</th><th>partitions</th><th>try</th><th>status</th><th>took</th><th>rows</th><th>note</th></tr></thead></table>`;
  const table = where.querySelector("table");
  table.addEventListener("click", (e) => {
    const toggle = e.target.closest("button.partitions-toggle");
    if (toggle) {
      const open = toggle.closest("tbody").classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
      return;
    }
    const to = e.target.closest("a.step-link");
    if (to && !(e.ctrlKey || e.metaKey || e.shiftKey)) { // its step in this run, not its asset's page
      e.preventDefault();
      const found = [...table.querySelectorAll("tbody.step")].filter((b) => b.dataset.model === to.dataset.step).pop();
      for (const b of table.querySelectorAll("tbody.step.target")) b.classList.remove("target");
      found.classList.add("target");
      found.scrollIntoView({ block: "center" });
    }
  });
  const draw = (steps) => {
    const groups = new Map(); // a step's tries, each with its partitions
    for (const s of steps) {
      const key = `${s.model}#${s.attempt}`;
      if (!groups.has(key)) groups.set(key, { model: s.model, attempt: s.attempt, whole: null, parts: [] });
      if (s.partition_key) groups.get(key).parts.push(s);
      else groups.get(key).whole = s;
    }
    const models = new Set(steps.map((s) => s.model));
    const bodies = keyedChildren(table, [...groups.keys()], () => {
      const body = document.createElement("tbody");
      body.className = "step";
      body.append(document.createElement("tr"));
      return body;
    });
    for (const [key, g] of groups) {
      const body = bodies.get(key);
      body.dataset.model = g.model;
      update(body.firstElementChild, stepRow(g, body.classList.contains("open"), models));
      const parts = new Map(g.parts.map((s) => [s.partition_key, s]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))); // by key
      const rows = keyedChildren(body, [...parts.keys()], () => {
        const row = document.createElement("tr");
        row.className = "partition";
        return row;
      });
      for (const [k, s] of parts) update(rows.get(k), partitionRow(s, models));
    }
  };
  return { draw };
}

function stepRow(g, open, models) {
  const parts = g.parts;
  const s = g.whole || { ...parts[0], status: worst(parts), rows: null, message: null, started_at: null };
  let partitions = "";
  if (parts.length || s.partitions) {
    // a row of a range built in one go (``A..B``) stands for every partition in it
    const covered = (list) => list.reduce((n, p) => n + (p.covers || 1), 0);
    const counts = STATUSES.map((st) => [st, covered(parts.filter((p) => p.status === st))]).filter(([, n]) => n);
    const ended = covered(parts);
    // while it runs: how many have ended of how many; a partition held back (skipped: what
    // it reads failed) was not among those its start planned, so it ended beyond them
    const total = Math.max(s.partitions || 0, ended);
    const done = total === ended ? "" : `${ended} of `;
    partitions = `<button class="link partitions-toggle" aria-expanded="${open}" title="a row per partition"${parts.length ? "" : " disabled"}>${done}${total} partition${total === 1 ? "" : "s"}</button> ${counts.map(([st, n]) => `${badge(st)} ${n}`).join(" ")}`;
  }
  return `<td>${assetLink(g.model)}</td><td>${partitions}</td><td>${g.attempt}</td><td>${badge(s.status)}</td><td>${took(s)}</td><td>${esc(s.rows ?? "")}</td><td>${note(s, models)}</td>`;
}

function partitionRow(s, models) {
  return `<td></td><td>${esc(s.partition_key)}</td><td></td><td>${badge(s.status)}</td><td>${took(s)}</td><td>${esc(s.rows ?? "")}</td><td>${note(s, models)}</td>`;
}

function worst(parts) {
  const seen = new Set(parts.map((p) => p.status));
  return ["failure", "started", "canceled", "skipped"].find((st) => seen.has(st)) || "success";
}

function took(s) {
  return s.started_at && s.finished_at ? fmtS((new Date(s.finished_at) - new Date(s.started_at)) / 1000) : "";
}

// a failure's file, then the message; a skip's reason names the upstream step that did not
// build (runtime/scheduler.py: ``upstream X failed``, ``... was canceled``, ...): X links to
// its step in this run (its asset's page opened in a new tab), or to its asset
function note(s, models) {
  const where = s.where ? `<code class="where">${esc(s.where)}</code>: ` : "";
  const why = s.status === "skipped" && (s.message || "").match(/^upstream (\S+)([\s\S]*)$/);
  if (!why) return where + esc(s.message || "");
  const name = why[1];
  const to = models.has(name)
    ? `<a class="step-link" href="#/asset/${encodeURIComponent(name)}" data-step="${esc(name)}" title="its step in this run">${esc(name)}</a>`
    : assetLink(name);
  return `${where}upstream ${to}${esc(why[2])}`;
}
