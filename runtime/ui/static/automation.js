// Schedules, sensors and jobs, with pause and resume. The page follows the store: a tick
// the daemon makes, or a pause from the command line or another browser, shows without a
// reload (redrawn only where it changed, so a selection stays).
import { api, badge, esc, main, onLeave, runLink, showError, update } from "./core.js";

const POLL_MS = 3000;

function automationHtml(data) {
  // a tick with its run, or why it was skipped or failed (a sensor's reason, a busy daemon)
  const ticks = (list) => list.map((t) => `<span class="tick">${esc(t.tick_at)} ${badge(t.status)}${t.run_id ? ` ${runLink(t.run_id)}` : ""}${t.message ? ` <span class="muted tick-message">${esc(t.message)}</span>` : ""}</span>`).join("<br>") || "<span class='muted'>none yet</span>";
  // running only when a daemon runs to evaluate it; a paused schedule has no next tick
  const state = (row) => !row.enabled ? badge("disabled") : row.paused ? badge("paused")
    : data.daemon_running ? badge("running") : `${badge("on")} <span class="muted">no daemon runs</span>`;
  const next = (row) => row.paused ? "(paused)" : row.enabled ? row.next_tick || "" : "(disabled)";
  const toggle = (kind, row) => `<button class="secondary" data-pause="${kind}:${esc(row.name)}" data-paused="${row.paused ? "1" : ""}">${row.paused ? "Resume" : "Pause"}</button>`;
  return `<p>${data.daemon_running ? badge("running") + " the daemon runs for this project" : `<span class="muted">No daemon runs: start <code>teal daemon</code> to run schedules and sensors.</span>`}</p>
    <h2>Schedules</h2>${data.schedules.length ? `<table><tr><th>schedule</th><th>cron</th><th>runs</th><th>next tick</th><th>state</th><th>last ticks (UTC)</th><th></th></tr>${data.schedules.map((s) => `<tr><td>${esc(s.name)}</td><td>${esc(s.cron)} <span class="muted">${esc(s.timezone)}</span></td><td>${esc(s.runs)}</td><td class="next-tick">${esc(next(s))}</td><td class="state">${state(s)}</td><td>${ticks(s.ticks)}</td><td>${toggle("schedule", s)}</td></tr>`).join("")}</table>` : "<p class='muted'>None.</p>"}
    <h2>Sensors</h2>${data.sensors.length ? `<table><tr><th>sensor</th><th>watches</th><th>runs</th><th>state</th><th>last ticks (UTC)</th><th></th></tr>${data.sensors.map((s) => `<tr><td>${esc(s.name)}</td><td>${esc(s.watches)}</td><td>${esc(s.runs)}</td><td class="state">${state(s)}</td><td>${ticks(s.ticks)}</td><td>${toggle("sensor", s)}</td></tr>`).join("")}</table>` : "<p class='muted'>None.</p>"}
    <h2>Jobs</h2>${data.jobs.length ? `<table><tr><th>job</th><th>select</th><th>description</th></tr>${data.jobs.map((j) => `<tr><td>${esc(j.name)}</td><td>${esc(j.select.join(" "))}</td><td>${esc(j.description || "")}</td></tr>`).join("")}</table>` : "<p class='muted'>None.</p>"}`;
}

export async function automationPage() {
  main().innerHTML = `<h1>Schedules and sensors</h1><div id="automation"></div>`;
  const body = document.getElementById("automation");
  const load = async () => {
    try {
      update(body, automationHtml(await api("automation")));
    } catch (err) { showError(body, err); } // the next poll tries again
  };
  // one listener for the buttons of every redraw
  body.addEventListener("click", async (event) => {
    const el = event.target.closest("[data-pause]");
    if (!el) return;
    const [kind, ...name] = el.dataset.pause.split(":");
    try {
      await api(`automation/${kind}/${encodeURIComponent(name.join(":"))}/pause`, { paused: !el.dataset.paused });
      await load();
    } catch (err) { alert(err.message); }
  });
  await load();
  const timer = setInterval(load, POLL_MS);
  onLeave(() => clearInterval(timer));
}
