// A run's page, followed live while it runs. The page is drawn once; each poll then changes
// in place only what changed (the status, a step's row, the timeline) and appends the new
// events, so what the user opened (the config's every setting), the log's scroll position
// and filter, and a text selection all stay as they were.
import { api, badge, esc, fmtS, main, onLeave, runLink, since, update } from "./core.js";
import { eventsView } from "./run_events.js";
import { stepsView } from "./run_steps.js";

const POLL_MS = 1000; // a live run page asks for new events this often
const GANTT_LABEL = 32; // characters of a step's name the timeline shows

export async function runPage(id) {
  const first = await api(`runs/${encodeURIComponent(id)}`);
  const r = first.run;
  main().innerHTML = `
    <h1>Run ${esc(r.run_id)} <span id="run-status"></span></h1>
    <p class="muted">${esc(r.command)} · started by <span id="run-by">${esc(r.started_by)}</span> · ${esc(r.selection.join(" ") || "(all)")}${r.partitions_summary ? ` · partitions ${esc(r.partitions_summary)}` : ""}${r.parent_run_id ? ` · ${r.trigger === "retry" ? "retry" : "re-execution"} of <span id="run-parent">${runLink(r.parent_run_id)}</span>` : ""}</p>
    <p class="muted" id="run-times"></p>
    <p id="run-message"></p>
    <p class="toolbar" id="run-actions"></p>
    <div id="run-children"></div>
    ${runConfig(r)}
    <h2>Timeline</h2><div id="run-timeline"></div>
    <h2>Steps</h2><div id="run-steps"></div>
    <h2>Checks</h2><div id="run-checks"></div>
    <h2>Events and logs <span class="muted">(UTC)</span> <span class="muted" id="run-live"></span></h2>
    <p class="toolbar"><input type="search" id="log-filter" placeholder="Filter events and logs" aria-label="Filter events and logs"> <span class="muted" id="log-shown"></span></p>
    <div class="logs" id="run-log"></div>`;
  const el = (name) => document.getElementById(name);
  const steps = stepsView(el("run-steps"));
  const events = eventsView(el("run-checks"), el("run-log"), el("log-filter"), el("log-shown"));
  el("run-actions").addEventListener("click", (e) => act(id, e.target.closest("button")?.id));
  const draw = (data) => {
    const run = data.run;
    const live = !data.finished;
    update(el("run-status"), badge(run.status));
    update(el("run-times"), `${run.started_at ? `started ${esc(run.started_at)} UTC${run.host ? ` on ${esc(run.host)}${run.pid != null ? ` (pid ${esc(run.pid)})` : ""}` : ""}` : `queued ${esc(run.created_at || "")} UTC, not started${data.waiting ? `: ${esc(data.waiting)}` : ""}`}${run.finished_at ? ` · finished ${esc(run.finished_at.slice(11))}, took ${fmtS(run.duration_s)}` : live && run.started_at ? ` · <span class="elapsed">running for ${elapsed(since(run.started_at))}</span>` : ""}`);
    update(el("run-message"), esc(run.message || ""));
    update(el("run-actions"), `${["queued", "started"].includes(run.status) ? `<button id="cancel">Cancel</button>` : ""}
      ${data.finished && run.status !== "success" && run.command !== "freshness" ? `<button id="retry">Retry what did not finish</button>` : ""}
      ${data.finished && !["check", "freshness"].includes(run.command) ? `<button id="reexecute" class="secondary" title="a new run of the same selection, partitions and settings, every step">Re-execute all</button>` : ""}`);
    update(el("run-children"), runAgain(data.children));
    update(el("run-timeline"), gantt(data.steps, run));
    steps.draw(data.steps);
    events.add(data.events);
    update(el("run-live"), live ? "(live)" : "");
    return live;
  };
  // an answer holds a page of events: while it says there are more, ask again at once
  // (a finished run too), then every POLL_MS while the run is live
  let after = 0;
  const drawn = (data) => {
    for (const e of data.events) after = Math.max(after, e.seq);
    return draw(data);
  };
  if (!drawn(first) && !first.more) return;
  let stopped = false;
  onLeave(() => { stopped = true; });
  const poll = async () => {
    if (stopped) return;
    let wait = POLL_MS;
    try {
      const data = await api(`runs/${encodeURIComponent(id)}?after=${after}`);
      if (stopped) return;
      const live = drawn(data);
      if (data.more) wait = 0;
      else if (!live) return;
    } catch (err) { /* the next poll tries again */ }
    setTimeout(poll, wait);
  };
  setTimeout(poll, first.more ? 0 : POLL_MS);
}

// a live run's time so far, redrawn each poll: whole seconds (hundredths would flicker)
function elapsed(s) { return s < 60 ? `${Math.floor(s)}s` : fmtS(s); }

// Cancel, Retry what did not finish, Re-execute all (a retry or re-execution opens its run)
async function act(id, action) {
  if (!action) return;
  try {
    const out = await api(`runs/${encodeURIComponent(id)}/${action}`, {});
    if (action !== "cancel") location.hash = `#/runs/${out.run_id}`;
  } catch (err) { alert(err.message); }
}

// what the run was asked to do beyond its selection (drawn once: it does not change)
function runConfig(r) {
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
  return `<details class="run-config" open><summary>Config</summary><dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
    <details id="run-settings"><summary class="muted">every setting recorded</summary><pre>${esc(JSON.stringify(c, null, 2))}</pre></details></details>`;
}

// the runs that ran it again: its retries and re-executions
function runAgain(children) {
  return children.length
    ? `<p id="run-again">Run again by ${children.map((k) => `${runLink(k.run_id)} ${badge(k.status)} <span class="muted">${k.trigger === "retry" ? "retry" : "re-execution"}</span>`).join(" · ")}</p>`
    : "";
}

// a bar per step (a partitioned step's partitions are in the Steps table)
function gantt(steps, run) {
  const timed = steps.filter((s) => s.started_at && !s.partition_key);
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
    const shown = s.model.length > GANTT_LABEL ? `${s.model.slice(0, GANTT_LABEL - 1)}…` : s.model; // it must not run into the bars
    return `<text x="0" y="${i * row + 12}" font-size="11"><title>${esc(s.model)}</title>${esc(shown)}</text><rect class="bar" x="${x0}" y="${i * row + 2}" width="${Math.max(2, x1 - x0)}" height="${row - 4}" fill="${color}"><title>${esc(s.model)} · ${esc(s.status)}</title></rect>`;
  });
  // drawn 900 wide, shrunk to fit a narrow window
  return `<svg class="gantt" viewBox="0 0 ${w} ${timed.length * row + 16}" width="${w}" height="${timed.length * row + 16}">${bars.join("")}<text x="${label}" y="${timed.length * row + 12}" font-size="10" fill="#6b7785">${fmtS((end - start) / 1000)} in all</text></svg>`;
}
