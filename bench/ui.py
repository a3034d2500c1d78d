"""The UI at scale: a generated 5,000-asset project served by a real ``teal ui``, opened in
headless Chromium (Debian's, driven by Playwright).

- **Graph page.** From navigation start until the graph is drawn and answers a click (the
  first asset box is on the page and a click on it fills the side panel): the browser's
  clock (``performance.now()``), median of a few fresh loads. With 5,000 assets the page
  starts with the folders collapsed, by layer when a folder is large.
- **The graph API** alone (``/api/graph``), timed from Python.
- **A focused selection** (two levels up and down of a mart, ``2+name+2``) drawn asset by asset.
- **Memory over time.** The server's resident memory before and after 1,000 rounds of the
  requests the pages make (graph, an asset page, runs), from /proc.

Nothing is built: statuses come from the kept state of an empty warehouse ("never built"),
which costs the server the same planning as a built one.

Run: python bench/ui.py [--models 5000] [--repeat 3] [--rounds 1000] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import generate  # noqa: E402  (bench/ is not a package)

from tests.ui.conftest import start_ui, stop_ui  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def get(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        return bytes(response.read())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="teal-bench-ui-"))
    try:
        project = generate.generate(work / "p", args.models, rows=100)
        subprocess.run(
            [sys.executable, "-m", "teal.cli", "compile"],
            cwd=project,
            check=True,
            capture_output=True,
        )
        server = start_ui(project)
        results: dict[str, object] = {"models": args.models}
        try:
            api_times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                graph = json.loads(get(f"{server.url}api/graph"))
                api_times.append(time.perf_counter() - t0)
            results["api_graph_s"] = statistics.median(api_times)
            results["assets"] = len(graph["nodes"])
            mart = next(n["id"] for n in reversed(graph["nodes"]) if n["group"] == "marts")
            chromium = shutil.which("chromium") or "chromium"
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                loads, focus = [], []
                for _ in range(args.repeat):
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.goto(server.url)
                    page.locator("#graph .node").first.click()
                    page.locator("#side h2").wait_for()
                    loads.append(page.evaluate("performance.now()") / 1000)
                    boxes = page.locator("#graph .node").count()
                    t0 = time.perf_counter()
                    page.goto(f"{server.url}#/?select=2%2B{mart}%2B2")
                    page.locator(f'#graph .node[data-id="{mart}"]').wait_for()
                    focus.append(time.perf_counter() - t0)
                    focused = page.locator("#graph .node").count()
                    page.close()
                browser.close()
            results["graph_interactive_s"] = statistics.median(loads)
            results["graph_interactive_all_s"] = loads
            results["boxes_drawn"] = boxes
            results["focus_s"] = statistics.median(focus)
            results["focus_assets"] = focused
            before = rss_mb(server.process.pid)
            t0 = time.perf_counter()
            for i in range(args.rounds):
                get(f"{server.url}api/graph")
                get(f"{server.url}api/assets/{mart}")
                get(f"{server.url}api/runs?limit=50")
                if i == 9:
                    before = rss_mb(server.process.pid)  # after the first rounds warmed up
            results["rounds"] = args.rounds
            results["round_s"] = (time.perf_counter() - t0) / args.rounds
            results["rss_mb_after_10_rounds"] = round(before, 1)
            results["rss_mb_after_all_rounds"] = round(rss_mb(server.process.pid), 1)
        finally:
            stop_ui(server)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"ui-{date.today().isoformat()}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
