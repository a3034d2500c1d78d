"""``teal ui``: the asset graph, runs, partitions and checks in a browser (runtime/ui/)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from teal.cli_support import handle_errors


@click.command()
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder (default: nearest with teal.toml / [tool.teal]).",
)
@click.option("--host", default="127.0.0.1", help="Address to listen on (default: loopback).")
@click.option("--port", type=click.IntRange(0, 65535), default=3000, help="Port (0: any free one).")
@click.option(
    "--token",
    "require_token",
    is_flag=True,
    help="Require the printed token on loopback too (a machine others log in to).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def ui(project_dir: Path | None, host: str, port: int, require_token: bool, debug: bool) -> None:
    """Serve the UI: the asset graph, asset pages, runs, launches, schedules and sensors.

    It binds loopback unless --host says otherwise; then (or with --token) every API request
    needs the token in the URL printed at start."""
    from teal.runtime.ui.server import serve

    server, app, url = serve(project_dir, host, port, token=require_token)
    click.echo(f"teal ui for {app.session.config.name} at {url}", err=False)
    click.echo("Ctrl-C stops it.")
    sys.stdout.flush()  # a parent reading the URL from a pipe sees it now
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.session.close()
