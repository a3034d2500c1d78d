// The Launch page: what to build, its plan, and the launch.
import { api, assetLink, counted, esc, main, showError } from "./core.js";

export async function launchPage(params) {
  main().innerHTML = `<h1>Launch a build</h1>
    <form id="launch-form">
      <p class="toolbar"><label>Select <input type="text" id="l-select" value="${esc(params.get("select") || "")}" placeholder="marts+ (empty: everything)"></label>
      <label>Exclude <input type="text" id="l-exclude" value="${esc(params.get("exclude") || "")}"></label></p>
      <p class="toolbar"><label>Partitions <input type="text" id="l-partitions" value="${esc(params.get("partitions") || "")}" placeholder="2025-03-01, or 2025-03-01..2025-03-07"></label>
      <label><input type="checkbox" id="l-full"> full refresh</label></p>
      <p class="toolbar"><button type="button" id="show-plan" class="secondary">Show the plan</button><button id="launch" disabled>Launch</button></p>
    </form><div id="plan"></div>`;
  const body = () => ({
    select: document.getElementById("l-select").value,
    exclude: document.getElementById("l-exclude").value,
    partitions: document.getElementById("l-partitions").value.split(/[\s,]+/).filter(Boolean),
    full_refresh: document.getElementById("l-full").checked,
  });
  const where = document.getElementById("plan");
  document.getElementById("show-plan").addEventListener("click", async () => {
    try {
      const plan = await api("plan", body());
      where.innerHTML = plan.steps.length
        ? `<h2>${counted(plan.steps.length, "step")}</h2><table class="plan"><tr><th>model</th><th>action</th><th>why</th><th>partitions</th></tr>${plan.steps.map((s) => `<tr><td>${assetLink(s.model)}</td><td>${esc(s.action)}</td><td>${esc(s.blocked ? `blocked: ${s.blocked}` : s.reason)}</td><td>${esc(s.partitions.length || "")}</td></tr>`).join("")}</table>`
        : `<p class="muted">Nothing to build.</p>`;
      document.getElementById("launch").disabled = !plan.steps.length;
    } catch (err) { showError(where, err); }
  });
  document.getElementById("launch-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const out = await api("launch", body());
      location.hash = `#/runs/${encodeURIComponent(out.run_id)}`;
    } catch (err) { showError(where, err); }
  });
  if (params.get("select")) document.getElementById("show-plan").click();
}
