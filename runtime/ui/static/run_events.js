// A run's events on its page: the check results table and the log, both only ever
// appended to. The log keeps its scroll position and follows the newest line only when the
// user was already at the bottom (as Dagster's log viewer does); its filter hides the lines
// that do not contain the text typed, new ones included.
import { assetLink, badge, esc, failingRows, update } from "./core.js";

const AT_BOTTOM_PX = 4; // this close to the end of the log counts as at its end

export function eventsView(checksEl, logEl, filterEl, shownEl) {
  let checks = null; // the check results table, once there is one
  let lines = 0;
  let shown = 0;
  update(checksEl, "<p class='muted'>No check results.</p>");
  const wanted = () => filterEl.value.trim().toLowerCase();
  const count = () => { shownEl.textContent = wanted() ? `${shown} of ${lines} shown` : ""; };
  filterEl.addEventListener("input", () => {
    const text = wanted();
    shown = 0;
    for (const line of logEl.children) {
      line.hidden = Boolean(text) && !line.textContent.toLowerCase().includes(text);
      if (!line.hidden) shown += 1;
    }
    count();
  });
  const add = (events) => {
    if (!events.length) return;
    const results = events.filter((e) => e.kind === "check_result");
    if (results.length) {
      if (!checks) {
        checksEl.innerHTML = `<table class="run-checks"><thead><tr><th>model</th><th>check</th><th>status</th><th>failing rows</th><th>message</th></tr></thead><tbody></tbody></table>`;
        checks = checksEl.querySelector("tbody");
      }
      checks.insertAdjacentHTML("beforeend", results.map(checkRow).join(""));
    }
    const following = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight <= AT_BOTTOM_PX;
    const text = wanted();
    const added = document.createDocumentFragment();
    for (const e of events) {
      const line = document.createElement("div");
      if (e.level) line.className = e.level;
      line.textContent = logLine(e);
      line.hidden = Boolean(text) && !line.textContent.toLowerCase().includes(text);
      if (!line.hidden) shown += 1;
      added.append(line);
    }
    lines += events.length;
    logEl.append(added);
    if (following) logEl.scrollTop = logEl.scrollHeight;
    count();
  };
  return { add };
}

function checkRow(e) {
  return `<tr><td>${assetLink(e.model)}</td><td>${esc(e.data.check)}</td><td>${badge(e.data.status)}</td><td>${failingRows(e.data)}</td><td>${esc(e.message || "")}</td></tr>`;
}

function logLine(e) {
  const kind = e.kind === "log" && e.level ? e.level.toUpperCase() : e.kind; // as `teal logs`
  return `${e.at.slice(11)} ${kind} ${e.model || ""}${e.partition ? `[${e.partition}]` : ""} ${e.kind === "check_result" ? `${e.data.check} ${e.data.status} ` : ""}${e.message || ""}`;
}
