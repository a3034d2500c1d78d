// The runs list (a run's page: run_page.js). A run that is not a build says what it is
// (backfill, freshness, check): a freshness evaluation's failure is not a failed build.
import { api, badge, esc, fmtS, main, onLeave, runLink, showError, update } from "./core.js";

export function runsTable(runs) {
  if (!runs.length) return "<p class='muted'>No runs.</p>";
  return `<table class="runs"><tr><th>run</th><th>status</th><th>started by</th><th>selection</th><th>started (UTC)</th><th>took</th><th>note</th></tr>${runs.map((r) => `<tr><td>${runLink(r.run_id)}${r.command !== "build" ? ` <span class="muted command">${esc(r.command)}</span>` : ""}</td><td>${badge(r.status)}</td><td>${esc(r.started_by)}</td><td>${esc(r.selection.join(" ") || "(all)")}${r.partitions_summary ? ` <span class="muted">[${esc(r.partitions_summary)}]</span>` : ""}</td><td>${r.started_at ? esc(r.started_at) : `<span class="muted">queued ${esc(r.created_at || "")}</span>`}</td><td>${fmtS(r.duration_s)}</td><td>${esc(r.message || "")}</td></tr>`).join("")}</table>`;
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
      update(list, runsTable(await api(`runs?${q}`))); // unchanged: left as it is (a selection stays)
    } catch (err) { showError(list, err); } // a model filter naming no model: the form stays
  };
  await load();
  const timer = setInterval(load, 3000);
  onLeave(() => clearInterval(timer));
}
