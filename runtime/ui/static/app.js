// teal ui: a single page over the JSON API (runtime/ui/server.py), plain ES modules (no
// build step). Views by hash route: #/ (asset graph, graph.js), #/asset/NAME (asset.js),
// #/runs (runs.js), #/runs/ID (run_page.js), #/launch (launch.js), #/automation
// (automation.js).
import { api, counted, esc, leave, main, showError } from "./core.js";
import { graphPage } from "./graph.js";
import { assetPage } from "./asset.js";
import { runsPage } from "./runs.js";
import { runPage } from "./run_page.js";
import { launchPage } from "./launch.js";
import { automationPage } from "./automation.js";

// -- routing -------------------------------------------------------------------------------
const routes = [
  [/^#\/asset\/(.+)$/, (m) => assetPage(decodeURIComponent(m[1])), "graph"],
  [/^#\/runs\/(.+)$/, (m) => runPage(decodeURIComponent(m[1])), "runs"],
  [/^#\/runs\/?(\?.*)?$/, (m) => runsPage(new URLSearchParams((m[1] || "").slice(1))), "runs"],
  [/^#\/launch\/?(\?.*)?$/, (m) => launchPage(new URLSearchParams((m[1] || "").slice(1))), "launch"],
  [/^#\/automation\/?$/, () => automationPage(), "automation"],
  [/^#?\/?(\?.*)?$/, (m) => graphPage(new URLSearchParams((m[1] || "").slice(1))), "graph"],
];
// -- the banner: shown on every page while the project's files do not load -------------------
const PROJECT_CHECK_MS = 5000;
async function checkProject() {
  const banner = document.getElementById("banner");
  try {
    const info = await api("project");
    document.getElementById("project-name").textContent = `${info.name} · ${counted(info.models, "model")}`;
    banner.hidden = true;
  } catch (err) {
    banner.innerHTML = `<b>The project does not load:</b> ${esc(err.where ? `${err.where}: ` : "")}${esc(err.message)}`
      + (err.hint ? `<br><span class="muted">hint: ${esc(err.hint)}</span>` : "")
      + `<br><span class="muted">Runs and schedules are shown; nothing is planned or launched until the file is fixed.</span>`;
    banner.hidden = false;
  }
}

function route() {
  checkProject();
  leave();
  const hash = location.hash || "#/";
  for (const [pattern, view, nav] of routes) {
    const m = hash.match(pattern);
    if (m) {
      document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
      view(m).catch((err) => showError(main(), err));
      return;
    }
  }
  main().innerHTML = `<p>No page ${esc(hash)}.</p>`;
}
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  route();
  setInterval(checkProject, PROJECT_CHECK_MS);
});
