// The Launch page (Dagster's launchpad): a selection or a job, partitions, vars, run
// config, full refresh or only what is missing; the plan (as `teal plan`), then the launch.
// The server checks everything as `teal build` checks its flags; a mistake in the vars or
// the run config is shown at its line.
import { api, assetLink, counted, esc, main, showError } from "./core.js";

const field = (id) => document.getElementById(id);

// a mapping as YAML, a line per key (JSON values are YAML's flow values)
function asYaml(values) {
  return Object.entries(values || {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n");
}

// partition keys as typed: separated by commas (a key may hold a space: 2025-01|Central
// Europe), or, without a comma, by spaces
function keys(text) {
  return (/[,\n]/.test(text) ? text.split(/[,\n]/) : text.split(/\s+/)).map((k) => k.trim()).filter(Boolean);
}

export async function launchPage(params) {
  const jobs = await api("jobs").catch(() => []);
  const byName = new Map(jobs.map((j) => [j.name, j]));
  main().innerHTML = `<h1>Launch a build</h1>
    <form id="launch-form" class="launchpad">
      <div class="launch-fields">
        <label>Job <select id="l-job"><option value="">none: pick what to build</option>${jobs.map((j) => `<option value="${esc(j.name)}">${esc(j.name)}</option>`).join("")}</select></label>
        <span id="l-job-about" class="muted">${jobs.length ? "" : "The project declares no jobs ([jobs] in its config)."}</span>
        <label>Select <input type="text" id="l-select" placeholder="marts+ (empty: everything)"></label>
        <label>Exclude <input type="text" id="l-exclude" placeholder="tag:slow"></label>
        <label>Partitions <input type="text" id="l-partitions" placeholder="2025-03-01, 2025-03-02 or 2025-03-01..2025-03-07"></label>
        <span class="checks"><label><input type="checkbox" id="l-full"> full refresh</label>
          <label><input type="checkbox" id="l-missing"> only missing partitions</label></span>
      </div>
      <div class="cols">
        <div><h2>Vars <span class="muted">YAML or JSON, as <code>--vars</code></span></h2>
          <textarea id="l-vars" rows="5" spellcheck="false" placeholder="currency: USD"></textarea></div>
        <div><h2>Run config <span class="muted">YAML or JSON, as <code>--config</code></span></h2>
          <textarea id="l-config" rows="5" spellcheck="false" placeholder="customer_segments:\n  at_risk_days: 90"></textarea></div>
      </div>
      <p class="toolbar"><button type="button" id="show-plan" class="secondary">Show the plan</button><button id="launch" disabled>Launch</button>
        <span id="plan-note" class="muted">Show the plan to launch it.</span></p>
    </form><div id="launch-error"></div><div id="plan"></div>`;
  let jobVars = ""; // the vars the last job picked filled in
  const pickJob = () => {
    const job = byName.get(field("l-job").value);
    if (field("l-vars").value === jobVars) field("l-vars").value = "";
    field("l-select").disabled = !!job;
    field("l-select").value = job ? job.select.join(" ") : params.get("select") || "";
    field("l-full").disabled = !!(job && job.full_refresh);
    if (job && job.full_refresh) field("l-full").checked = true;
    if (job) {
      if (!params.get("partitions")) field("l-partitions").value = job.partitions.join(", ");
      if (!field("l-vars").value) field("l-vars").value = jobVars = asYaml(job.vars);
    }
    field("l-job-about").innerHTML = job
      ? `${esc(job.description || "")}${job.exclude.length ? ` · excludes ${esc(job.exclude.join(" "))}` : ""}${job.tags.length ? ` · tags ${esc(job.tags.join(", "))}` : ""} · vars here are laid over the job's`
      : "";
  };
  field("l-job").value = byName.has(params.get("job")) ? params.get("job") : "";
  field("l-exclude").value = params.get("exclude") || "";
  field("l-partitions").value = params.get("partitions") || "";
  field("l-full").checked = params.get("full_refresh") === "1";
  field("l-missing").checked = params.get("missing_only") === "1";
  field("l-vars").value = params.get("vars") || "";
  field("l-config").value = params.get("run_config") || "";
  pickJob();
  field("l-job").addEventListener("change", pickJob);

  const body = () => {
    const out = {
      exclude: field("l-exclude").value,
      partitions: keys(field("l-partitions").value),
      full_refresh: field("l-full").checked,
      missing_only: field("l-missing").checked,
    };
    if (field("l-job").value) out.job = field("l-job").value;
    else out.select = field("l-select").value;
    if (field("l-vars").value.trim()) out.vars = field("l-vars").value;
    if (field("l-config").value.trim()) out.run_config = field("l-config").value;
    return out;
  };
  const where = field("plan");
  const failed = (err) => {
    showError(field("launch-error"), err);
    // a mistake in the vars or the run config: its line, marked where the server found it
    const at = /^(vars|run config):(\d+)(?::(\d+))?$/.exec(err.where || "");
    field("l-vars").classList.toggle("invalid", !!at && at[1] === "vars");
    field("l-config").classList.toggle("invalid", !!at && at[1] === "run config");
    if (at) {
      const text = field(at[1] === "vars" ? "l-vars" : "l-config").value.split("\n")[Number(at[2]) - 1] ?? "";
      field("launch-error").insertAdjacentHTML("beforeend", `<pre class="error-line">${esc(text)}\n${at[3] ? `${" ".repeat(Number(at[3]) - 1)}^` : ""}</pre>`);
    }
  };
  const stale = () => {
    field("launch").disabled = true;
    if (where.innerHTML) field("plan-note").textContent = "Changed: show the plan again to launch.";
  };
  field("launch-form").addEventListener("input", stale);
  field("launch-form").addEventListener("change", stale);
  field("show-plan").addEventListener("click", async () => {
    field("launch-error").innerHTML = "";
    ["l-vars", "l-config"].forEach((id) => field(id).classList.remove("invalid"));
    try {
      const plan = await api("plan", body());
      where.innerHTML = planHtml(plan);
      field("launch").disabled = !plan.steps.length;
      field("plan-note").textContent = plan.steps.length ? "" : "Nothing to build.";
      field("scaffold")?.addEventListener("click", () => {
        field("l-config").value = scaffold(plan.config_fields);
        stale();
      });
    } catch (err) {
      where.innerHTML = "";
      field("launch").disabled = true;
      failed(err);
    }
  });
  field("launch-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const out = await api("launch", body());
      location.hash = `#/runs/${encodeURIComponent(out.run_id)}`;
    } catch (err) { failed(err); }
  });
  if (params.get("select") || params.get("job") || params.get("partitions")) field("show-plan").click();
}

function planHtml(plan) {
  const l = plan.launch;
  const facts = [
    ["selection", l.select.join(" ") || "(everything)"],
    ...(l.exclude.length ? [["excluding", l.exclude.join(" ")]] : []),
    ...(l.job ? [["job", l.job], ["tags", (l.tags || []).join(", ") || "none"]] : []),
    ...(l.partitions.length ? [["partitions", l.partitions.join(", ")]] : []),
    ["vars", Object.keys(l.vars).length ? JSON.stringify(l.vars) : "none"],
    ["run config", Object.keys(l.run_config).length ? JSON.stringify(l.run_config) : "none"],
    ["options", [l.full_refresh && "full refresh", l.missing_only && "only missing"].filter(Boolean).join(", ") || "none"],
  ];
  const takes = Object.entries(plan.config_fields || {});
  return `<h2>${plan.steps.length ? counted(plan.steps.length, "step") : "Nothing to build"}</h2>
    <dl class="facts launch-facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
    ${plan.warnings.map((w) => `<p class="warning">warning: ${esc(w)}</p>`).join("")}
    ${plan.steps.length ? `<table class="plan"><tr><th>model</th><th>action</th><th>why</th><th>partitions</th></tr>${plan.steps.map((s) => `<tr><td>${assetLink(s.model)}</td><td>${esc(actionOf(s))}</td><td>${esc(s.blocked ? `blocked: ${s.blocked}` : s.reason)}</td><td>${esc(s.partitions.length || "")}</td></tr>`).join("")}</table>` : ""}
    ${takes.length ? `<h2>Run config these models take</h2><table class="config-fields"><tr><th>model</th><th>field</th><th>type</th><th>default</th></tr>${takes.map(([model, fields]) => fields.map((f) => `<tr><td>${esc(model)}</td><td>${esc(f.name)}</td><td>${esc(f.type)}</td><td>${f.required ? "<b>required</b>" : esc(JSON.stringify(f.default))}</td></tr>`).join("")).join("")}</table>
      <p><button type="button" class="secondary" id="scaffold">Fill in the run config with these defaults</button></p>` : ""}`;
}

// a step's action as `teal plan` words it: rebuilt from scratch (not added to) says so
function actionOf(step) {
  return step.full_refresh && !step.blocked ? `${step.action} (full refresh)` : step.action;
}

// the run config of the planned models, every field at its default (required ones empty)
function scaffold(fields) {
  return Object.entries(fields || {}).map(([model, list]) => `${model}:\n${list.map((f) => `  ${f.name}: ${f.required ? "" : JSON.stringify(f.default)}`).join("\n")}`).join("\n");
}
