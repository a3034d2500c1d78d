// The runs list and a run's page (followed live while it runs).
import { api, assetLink, badge, esc, fmtS, main, onLeave, runLink, showError } from "./core.js";

const POLL_MS = 1000; // a live run page asks for new events this often
const GANTT_LABEL = 32; // characters of a step's name the timeline shows

export function runsTable(runs) {
  if (!runs.length) return "<p class='muted'>No runs.</p>";
  return `<table class="runs"><tr><th>run</th><th>status</th><th>started by</th><th>selection</th><th>started (UTC)</th><th>took</th><th>note</th></tr>${runs.map((r) => `<tr><td>${runLink(r.run_id)}</td><td>${badge(r.status)}</td><td>${esc(r.started_by)}</td><td>${esc(r.selection.join(" ") || "(all)")}${r.partitions_summary ? ` <span class="muted">[${esc(r.partitions_summary)}]</span>` : ""}</td><td>${esc(r.started_at || r.created_at || "")}</td><td>${fmtS(r.duration_s)}</td><td>${esc(r.message || "")}</td></tr>`).join("")}</table>`;
}

export async function runsPage(params) {
  const status = params.get("status") || "";
  const model = params.get("model") || "";
  main().innerHTML = `<h1>Runs</h1>
    <form class="toolbar" id="filters"><select id="status"><option value="">any status</option>${["queued", "started", "success", "failure", "canceling", "canceled", "crashed"].map((s) => `<option ${s === status ? "selected" : ""}>${s}</option>`).join("")}</select>
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
    const list = document.getElementById("runs-list");
    try {
      list.innerHTML = runsTable(await api(`runs?${q}`));
    } catch (err) { showError(list, err); } // a model filter naming no model: the form stays
  };
  await load();
  const timer = setInterval(load, 3000);
  onLeave(() => clearInterval(timer));
}

export async function runPage(id) {
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
      <p class="muted">${esc(r.command)} · started by <span id="run-by">${esc(r.started_by)}</span> · ${esc(r.selection.join(" ") || "(all)")}${r.partitions_summary ? ` · partitions ${esc(r.partitions_summary)}` : ""}${r.parent_run_id ? ` · ${r.trigger === "retry" ? "retry" : "re-execution"} of <span id="run-parent">${runLink(r.parent_run_id)}</span>` : ""}</p>
      <p class="muted" id="run-times">${r.started_at ? `started ${esc(r.started_at)} UTC` : `queued ${esc(r.created_at || "")} UTC, not started`}${r.finished_at ? ` · finished ${esc(r.finished_at.slice(11))}, took ${fmtS(r.duration_s)}` : ""}</p>
      <p>${esc(r.message || "")}</p>
      <p class="toolbar">${["queued", "started"].includes(r.status) ? `<button id="cancel">Cancel</button>` : ""}
        ${data.finished && r.status !== "success" ? `<button id="retry">Retry what did not finish</button>` : ""}
        ${data.finished && r.command !== "check" ? `<button id="reexecute" class="secondary" title="a new run of the same selection, partitions and settings, every step">Re-execute all</button>` : ""}</p>
      ${runConfig(r, data.children)}
      <h2>Timeline</h2>${gantt(data.steps, r)}
      <h2>Steps</h2><table class="steps"><tr><th>model</th><th>partition</th><th>try</th><th>status</th><th>took</th><th>rows</th><th>note</th></tr>${data.steps.map((s) => `<tr><td>${assetLink(s.model)}</td><td>${esc(s.partition_key || "")}</td><td>${s.attempt}</td><td>${badge(s.status)}</td><td>${s.started_at && s.finished_at ? fmtS((new Date(s.finished_at) - new Date(s.started_at)) / 1000) : ""}</td><td>${esc(s.rows ?? "")}</td><td>${s.where ? `<code class="where">${esc(s.where)}</code>: ` : ""}${esc(s.message || "")}</td></tr>`).join("")}</table>
      <h2>Checks</h2>${checks.length ? `<table class="run-checks"><tr><th>model</th><th>check</th><th>status</th><th>failing rows</th><th>message</th></tr>${checks.map((e) => `<tr><td>${assetLink(e.model)}</td><td>${esc(e.data.check)}</td><td>${badge(e.data.status)}</td><td>${esc(e.data.failing_rows ?? "")}</td><td>${esc(e.message || "")}</td></tr>`).join("")}</table>` : "<p class='muted'>No check results.</p>"}
      <h2>Events and logs <span class='muted'>(UTC)</span> ${live ? "<span class='muted'>(live)</span>" : ""}</h2>
      <div class="logs">${logLines.map((e) => `<div class="${esc(e.level || "")}">${esc(e.at.slice(11))} ${esc(e.kind)} ${esc(e.model || "")}${e.partition ? `[${esc(e.partition)}]` : ""} ${esc(e.kind === "check_result" ? `${e.data.check} ${e.data.status} ` : "")}${esc(e.message || "")}</div>`).join("")}</div>`;
    document.getElementById("cancel")?.addEventListener("click", async () => {
      try { await api(`runs/${encodeURIComponent(id)}/cancel`, {}); } catch (err) { alert(err.message); }
    });
    for (const action of ["retry", "reexecute"]) {
      document.getElementById(action)?.addEventListener("click", async () => {
        try { const out = await api(`runs/${encodeURIComponent(id)}/${action}`, {}); location.hash = `#/runs/${out.run_id}`; } catch (err) { alert(err.message); }
      });
    }
    return live;
  };
  // an answer holds a page of events: while it says there are more, ask again at once
  // (a finished run too), then every POLL_MS while the run is live
  const first = await api(`runs/${encodeURIComponent(id)}`);
  if (!draw(first) && !first.more) return;
  let stopped = false;
  onLeave(() => { stopped = true; });
  const poll = async () => {
    if (stopped) return;
    let wait = POLL_MS;
    try {
      const data = await api(`runs/${encodeURIComponent(id)}?after=${after}`);
      if (stopped) return;
      const live = draw(data);
      if (data.more) wait = 0;
      else if (!live) return;
    } catch (err) { /* the next poll tries again */ }
    setTimeout(poll, wait);
  };
  setTimeout(poll, first.more ? 0 : POLL_MS);
}

// what the run was asked to do beyond its selection, and the runs that ran it again
function runConfig(r, children) {
  const c = r.config || {};
  const json = (v) => (v && Object.keys(v).length ? JSON.stringify(v) : "none");
  const options = [c.full_refresh && "full refresh", c.missing_only && "only missing", c.fail_fast && "fail fast",
    c.store_failures && "store failures", c.ignore_failed_upstream && "ignore failed upstream", c.empty && "empty"].filter(Boolean);
  const facts = [
    ["trigger", `${r.trigger}${c.tick ? ` (tick ${c.tick})` : ""}`],
    ...(c.job ? [["job", c.job]] : []),
    ...(c.tags && c.tags.length ? [["tags", c.tags.join(", ")]] : []),
    ...(r.exclude.length ? [["excluding", r.exclude.join(" ")]] : []),
    ...(c.partition_range ? [["partition range", c.partition_range.join("..")]] : []),
    ["vars", json(c.vars)],
    ["run config", json(c.run_config)],
    ["options", options.join(", ") || "none"],
    ...(c.only_models ? [["retries", c.only_models.join(" ")]] : []),
    ...(c.target ? [["target", c.target]] : []),
  ];
  const again = children.length
    ? `<p id="run-children">Run again by ${children.map((k) => `${runLink(k.run_id)} ${badge(k.status)} <span class="muted">${k.trigger === "retry" ? "retry" : "re-execution"}</span>`).join(" · ")}</p>`
    : "";
  return `${again}<details class="run-config" open><summary>Config</summary><dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
    <details><summary class="muted">every setting recorded</summary><pre>${esc(JSON.stringify(c, null, 2))}</pre></details></details>`;
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
    const name = `${s.model}${s.partition_key ? ` [${s.partition_key}]` : ""}`;
    const shown = name.length > GANTT_LABEL ? `${name.slice(0, GANTT_LABEL - 1)}…` : name; // it must not run into the bars
    return `<text x="0" y="${i * row + 12}" font-size="11"><title>${esc(name)}</title>${esc(shown)}</text><rect class="bar" x="${x0}" y="${i * row + 2}" width="${Math.max(2, x1 - x0)}" height="${row - 4}" fill="${color}"><title>${esc(s.model)} · ${esc(s.status)}</title></rect>`;
  });
  // drawn 900 wide, shrunk to fit a narrow window
  return `<svg class="gantt" viewBox="0 0 ${w} ${timed.length * row + 16}" width="${w}" height="${timed.length * row + 16}">${bars.join("")}<text x="${label}" y="${timed.length * row + 12}" font-size="10" fill="#6b7785">${fmtS((end - start) / 1000)} in all</text></svg>`;
}
