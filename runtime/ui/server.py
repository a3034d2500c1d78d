"""``teal ui``: a small JSON API and the static front end that uses it.

The server is a thread per request (the standard library's ``ThreadingHTTPServer``): pages
poll a run's events while another request plans a launch. It binds loopback unless told
otherwise; a request that changes anything (launch, cancel, retry, pause) must come from
the UI's own origin (a JSON body, and an ``Origin`` naming this server when the browser
sends one: a page of another site cannot make the request), and, when the server listens
beyond loopback, carry the token printed at start. Every error is a JSON object with a
message; no traceback leaves the server.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import secrets
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from teal.compiler.errors import NotFound, SelectionError, TealError
from teal.runtime.session import Session
from teal.runtime.ui.body import flag, known_keys
from teal.runtime.ui.launchpad import plan_launch, read_launch
from teal.runtime.ui.project_view import ProjectView, source_facts
from teal.runtime.ui.run_view import RunView

if TYPE_CHECKING:
    from teal.compiler.config import ProjectConfig
    from teal.runtime.launcher import ProcessHandle

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# the page's files only (the layout library ships with teal), and never inside a frame
CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


@dataclass
class UIApp:
    """The API of one project: routes to the views, launches through the run queue."""

    session: Session
    token: str | None = None  # required on every API request when set
    project: ProjectView = field(init=False)
    runs: RunView = field(init=False)
    # the `teal launch` processes it started, by run id, until each ended and was reaped
    _children: dict[str, ProcessHandle] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.project = ProjectView(self.session)
        self.runs = RunView(self.session)

    # -- routing ---------------------------------------------------------------------------
    def get(self, parts: list[str], query: dict[str, list[str]]) -> Any:
        def arg(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        match parts:
            case ["project"]:
                return self._project_info()
            case ["graph"]:
                return self.project.graph(arg("select"), arg("exclude"))
            case ["statuses"]:  # what the graph polls (a build from the command line)
                return {**self.project.model_statuses(), "building": self.runs.building()}
            case ["assets", name]:
                return self.project.asset(name)
            case ["assets", name, "history"]:
                self.project.model(name)
                return self.runs.asset_history(name)
            case ["assets", name, "latest"]:
                return {**self.runs.asset_latest(name), "freshness": self.project.freshness(name)}
            case ["assets", name, "lineage"]:
                return self.project.column_lineage(name)
            case ["assets", name, "partitions"]:
                return self.project.partitions(name)
            case ["assets", name, "preview"]:
                return self.project.preview(name)
            case ["sources", key]:  # a source's side panel
                return source_facts(self.project.project, key)
            case ["runs"]:
                found = self.runs.runs(
                    status=[s for s in query.get("status", []) if s],
                    model=arg("model") or None,
                    limit=_int(arg("limit", "100"), "limit", least=1),
                    job=arg("job") or None,
                    tags=[t for t in query.get("tag", []) if t],
                )
                if arg("model") and not found:
                    self._filtered_model(arg("model"))
                if arg("job") and not found:
                    self._filtered_job(arg("job"))
                return found
            case ["runs", run_id]:
                shown = self.runs.run(run_id, after=_int(arg("after", "0"), "after"))
                if shown["run"]["status"] == "queued":
                    shown["waiting"] = self._waiting(shown["run"]["run_id"])
                return shown
            case ["automation"]:
                return self._automation()
            case ["jobs"]:
                from teal.compiler.config import load_config

                return _jobs(load_config(self.session.config.root))  # edits show at once
        raise ApiError(HTTPStatus.NOT_FOUND, f"no API endpoint /api/{'/'.join(parts)}")

    def post(self, parts: list[str], body: dict[str, Any]) -> Any:
        if parts != ["plan"]:  # every other request writes to the run store
            self._refuse_newer_store()
        match parts:
            case ["plan"]:
                return self._plan(body)
            case ["launch"]:
                _ = self.project.project  # refused while the files do not load
                request = read_launch(body, self.session.config)
                plan_launch(self.session, request)  # a mistake is reported, not queued
                run_id = self.runs.queue(
                    select=request.select,
                    exclude=request.exclude,
                    partitions=request.partitions,
                    settings=request.settings,
                )
                self._start(run_id)
                return {"run_id": run_id}
            case ["runs", run_id, "retry"]:
                known_keys(body, ())
                _ = self.project.project  # as `teal retry`: refused while it does not load
                new = self.runs.retry(run_id)
                self._start(new)
                return {"run_id": new}
            case ["runs", run_id, "reexecute"]:
                known_keys(body, ())
                _ = self.project.project  # refused while it does not load, as a launch
                new = self.runs.reexecute(run_id)
                self._start(new)
                return {"run_id": new}
            case ["runs", run_id, "cancel"]:
                known_keys(body, ())
                return {"message": self.runs.cancel(run_id)}
            case ["automation", kind, name, "pause"] if kind in ("schedule", "sensor"):
                known_keys(body, ("paused",))
                return self._pause(kind, name, flag(body, "paused", True))
        raise ApiError(HTTPStatus.NOT_FOUND, f"no API endpoint POST /api/{'/'.join(parts)}")

    # -- handlers --------------------------------------------------------------------------
    def _refuse_newer_store(self) -> None:
        """Write nothing into a run store a newer teal migrated while this server ran
        (teal upgraded in place: the runs it launches run the new teal, which migrates the
        store): its writes are of the schema it knew. It was checked only as the store was
        opened, so a launch went on being queued into the migrated store."""
        from teal.runtime.runstore.schema import LATEST

        store = self.session.run_store()
        found = store.schema_version()
        if found > LATEST:
            raise ApiError(
                HTTPStatus.CONFLICT,
                f"the run store {store.location} was migrated to schema version {found} by "
                f"a newer teal while teal ui ran; its teal knows schema version {LATEST}: "
                "it launches, retries, cancels and pauses nothing",
                hint="start teal ui again with the newer teal",
            )

    def _project_info(self) -> dict[str, Any]:
        project = self.project.project
        cfg = project.config
        return {
            "name": cfg.name,
            "root": str(cfg.root),
            "warehouse": str(cfg.warehouse_path),
            "models": len(project.models),
            "sources": sum(len(s.tables) for s in project.sources.values()),
            "checks": len(project.checks),
            "store": self.session.run_store().location,
        }

    def _filtered_model(self, name: str) -> None:
        """A runs filter that found nothing because no model has that name (a typo) says
        so, as `teal runs --model` does; a run of a model since deleted is still listed,
        and while the files do not load the runs are listed as usual."""
        try:
            _ = self.project.project
        except TealError:
            return
        try:
            self.project.model(name)
        except SelectionError as exc:
            raise SelectionError(
                f"no run built '{name}', and the project has no such model",
                path="model",
                hint=exc.hint,
            ) from None

    def _filtered_job(self, name: str) -> None:
        """A runs filter naming no job of the project (as listed now), with no run of it
        on record either, is a typo: said so, as `teal runs --job` does."""
        from teal.compiler.config import load_config
        from teal.compiler.errors import did_you_mean

        jobs = load_config(self.session.config.root).automation.jobs
        if name not in jobs:
            raise SelectionError(
                f"no run of job '{name}', and the project has no such job",
                path="job",
                hint=did_you_mean(name, jobs) or "the Launch page lists the jobs",
            )

    def _plan(self, body: dict[str, Any]) -> dict[str, Any]:
        _ = self.project.project  # the files as they are now (raises when they do not load)
        return plan_launch(self.session, read_launch(body, self.session.config))

    def _start(self, run_id: str) -> None:
        """Carry out a queued run: the daemon does when it runs, else a child process."""
        from teal.runtime.launcher import SubprocessLauncher
        from teal.runtime.waiting import daemon_running

        root = self.session.config.root
        with self._lock:
            if daemon_running(root):
                return
            retention = self.session.config.run_retention
            store = self.session.run_store()
            launcher = SubprocessLauncher(root, retention=retention, store=store)
            child = launcher.launch(run_id)
            self._children[run_id] = child
        threading.Thread(
            target=self._reap, args=(child,), name=f"teal-ui-reap-{run_id}", daemon=True
        ).start()

    def _waiting(self, run_id: str) -> str:
        """What a queued run waits for: a queued run starts only when the daemon (or a
        process this server started for it) claims it, so one queued while no daemon runs
        (the daemon stopped after queueing it) waits for nothing that will come."""
        from teal.runtime.waiting import daemon_running

        with self._lock:
            if run_id in self._children:
                return "its process is starting"
        if daemon_running(self.session.config.root):
            return "waiting for the daemon to launch it"
        return (
            "no daemon runs for this project, so nothing will launch it: "
            "start `teal daemon`, or cancel it"
        )

    def _reap(self, child: ProcessHandle) -> None:
        """Wait for a launched process to end and reap it at once: a child left a zombie
        of the server looks alive, so a run whose process was killed would stay started.
        Then the run is settled as the daemon settles its own (failed or crashed)."""
        from teal.runtime.daemon import settle_exited

        code = child.process.wait()
        child.poll()  # closes its log
        try:
            settle_exited(self.session.run_store(), child.run_id, code)
        except Exception:
            logging.getLogger("teal.ui").exception("settling run %s failed", child.run_id)
        finally:
            with self._lock:
                self._children.pop(child.run_id, None)

    def _automation(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        from teal.compiler.config import load_config
        from teal.runtime.automation_rows import schedule_row, sensor_rows
        from teal.runtime.runstore.ticks import TickStore
        from teal.runtime.waiting import daemon_running

        config = load_config(self.session.config.root)  # edits show without a restart
        ticks = TickStore(self.session.run_store())
        paused = ticks.paused()
        now = datetime.now(UTC).replace(tzinfo=None)

        def history(source: str) -> list[dict[str, Any]]:
            return [
                {
                    # to the second, as every page shows times (a sensor's tick has more)
                    "tick_at": t.tick_at.isoformat(sep=" ", timespec="seconds"),
                    "status": t.status,
                    "run_id": t.run_id,
                    "message": t.message,
                }
                for t in ticks.ticks(source, limit=10)
            ]

        schedules = []
        for row in (schedule_row(s, now) for s in config.automation.schedules.values()):
            stopped = f"schedule:{row['name']}" in paused
            schedules.append(
                {
                    **row,
                    "next_tick": None if stopped else row["next_tick"],  # none while paused
                    "paused": stopped,
                    "ticks": history(f"schedule:{row['name']}"),
                }
            )
        sensors = [
            {
                **row,
                "paused": f"sensor:{row['name']}" in paused,
                "ticks": history(f"sensor:{row['name']}"),
            }
            for row in sensor_rows(config, self._conditioned())
        ]
        return {
            "daemon_running": daemon_running(config.root),
            "schedules": schedules,
            "sensors": sensors,
            "jobs": _jobs(config),
        }

    def _conditioned(self) -> list[str]:
        """The models with an automation condition, in the project as last loaded (none
        while it does not load)."""
        from teal.compiler.errors import TealError
        from teal.runtime.automation_conditions import conditions_of

        try:
            return sorted(conditions_of(self.project.project))  # reloaded when edited
        except TealError:
            return []

    def _pause(self, kind: str, name: str, paused: bool) -> dict[str, Any]:
        from teal.compiler.config import load_config
        from teal.runtime.pausing import set_paused

        # as listed: edits count at once
        config = load_config(self.session.config.root)
        set_paused(config, kind, name, paused, self.session.run_store())
        return {"name": name, "paused": paused}


def _jobs(config: ProjectConfig) -> list[dict[str, Any]]:
    """The project's jobs with what a run of each asks for (the Launch page fills its
    form from them)."""
    return [
        {
            "name": j.name,
            "select": list(j.select),
            "exclude": list(j.exclude),
            "description": j.description,
            "vars": j.vars,
            "tags": list(j.tags),
            "partitions": list(j.partitions),
            "full_refresh": j.full_refresh,
        }
        for j in config.automation.jobs.values()
    ]


def _int(text: str, name: str, least: int = 0) -> int:
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise SelectionError(
            f"{name} must be a whole number of at least {least}, got {text!r}", path=name
        )
    return value


def make_handler(app: UIApp, allowed_hosts: set[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "teal-ui"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            logging.getLogger("teal.ui").debug(format, *args)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if not url.path.startswith("/api/"):
                self._static(url.path)
                return
            self._api(lambda parts: app.get(parts, parse_qs(url.query)), url.path)

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            self._api(lambda parts: app.post(parts, self._body()), url.path, changes=True)

        def _api(self, call: Any, path: str, changes: bool = False) -> None:
            try:
                self._guard(changes)
                parts = [unquote(p) for p in path.removeprefix("/api/").split("/") if p]
                self._json(HTTPStatus.OK, call(parts))
            except ApiError as exc:
                self._json(exc.status, {"error": exc.message, "hint": exc.hint})
            except NotFound as exc:  # a model, source table or run that does not exist
                self._json(
                    HTTPStatus.NOT_FOUND,
                    {"error": exc.message, "hint": exc.hint, "where": exc.location},
                )
            except TealError as exc:
                self._json(
                    HTTPStatus.BAD_REQUEST,
                    {"error": exc.message, "hint": exc.hint, "where": exc.location},
                )
            except Exception as exc:
                logging.getLogger("teal.ui").exception("%s %s failed", self.command, path)
                self._json(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"error": f"the server failed: {type(exc).__name__}", "hint": None},
                )

        def _guard(self, changes: bool) -> None:
            host = self.headers.get("Host", "")
            # on loopback, a page of another name reaching this port (DNS rebinding); beyond
            # it, the token guards and the names the server is reached by are not known
            if app.token is None and host not in allowed_hosts:
                raise ApiError(HTTPStatus.FORBIDDEN, f"unexpected Host {host!r}")
            if app.token is not None:
                given = self.headers.get("X-Teal-Token", "").encode("utf-8", "replace")
                if not hmac.compare_digest(given, app.token.encode()):
                    raise ApiError(
                        HTTPStatus.UNAUTHORIZED,
                        "this server needs its token",
                        "open the URL `teal ui` printed at start (it carries ?token=...)",
                    )
            if not changes:
                return
            origin = self.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc != host:
                raise ApiError(HTTPStatus.FORBIDDEN, f"requests from {origin} are refused")
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send a JSON body")

        def _body(self) -> dict[str, Any]:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:  # read(-1) would wait for the client to close the connection
                raise ApiError(HTTPStatus.BAD_REQUEST, "a bad Content-Length")
            if length > MAX_BODY:
                raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None
            if not isinstance(body, dict):
                raise ApiError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
            return body

        def _json(self, status: HTTPStatus, payload: Any) -> None:
            data = json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self._guard_headers()
            self.end_headers()
            self.wfile.write(data)

        def _guard_headers(self) -> None:
            """Sent with every answer: no page of another site may frame the UI (a click
            on its Cancel or Pause under a decoy, clickjacking), no answer is read as
            another type than it says, and no address (a ``?token=``) leaves as a Referer."""
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")

        def _static(self, path: str) -> None:
            pages = {"/": "index.html", "/index.html": "index.html", "/favicon.ico": "favicon.svg"}
            name = pages.get(path) or path.removeprefix("/static/")
            file = (STATIC / name).resolve()
            if STATIC not in file.parents or not file.is_file():
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {path}"})
                return
            data = file.read_bytes()
            self.send_response(HTTPStatus.OK)
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            self.send_header(
                "Content-Type", kind + ("; charset=utf-8" if kind.startswith("text") else "")
            )
            self.send_header("Content-Length", str(len(data)))
            self._guard_headers()
            self.end_headers()
            self.wfile.write(data)

    return Handler


def serve(
    project_dir: str | Path | None, host: str, port: int, *, token: bool = False
) -> tuple[ThreadingHTTPServer, UIApp, str]:
    """A server for the project at ``project_dir`` (not yet serving) and the URL to open.
    Beyond loopback, or with ``token`` (loopback on a machine others log in to: any local
    user reaches its port), every API request must carry the token the URL holds."""
    session = Session.open(project_dir)
    session.run_store()  # an unreachable store is said now, not on the first page
    needed = token or host not in LOOPBACK
    token_text = secrets.token_urlsafe(24) if needed else None
    app = UIApp(session, token_text)
    server = ThreadingHTTPServer((host, port), make_handler(app, set()))
    bound = server.server_address[1]
    names = {host, *LOOPBACK} if host in LOOPBACK else {host}
    allowed = {f"{name}:{bound}" for name in names} | {f"[::1]:{bound}"}
    server.RequestHandlerClass = make_handler(app, allowed)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/" + (f"?token={token_text}" if token_text else "")
    return server, app, url
