"""What another site, or another user of the machine, can do to `teal ui`, over real HTTP:
no page of another site may frame the UI (a decoy over its Cancel or Pause button), a
request with a bad Content-Length is refused at once rather than holding its thread, a
token that is not ASCII is refused as any wrong token, and `--token` asks for the token on
loopback too (any user of a shared machine reaches a loopback port)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from teal.runtime.ui.server import serve
from tests.ui.conftest import start_ui, stop_ui

pytestmark = pytest.mark.slow  # each starts a server on a project (0.5 s and more)


def small_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "p"\n')
    (root / "models" / "a.sql").write_text("select 1 as x")
    return root


@contextmanager
def served(root: Path) -> Iterator[str]:
    server, app, url = serve(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        app.session.close()


def headers_of(url: str) -> dict[str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return dict(response.headers)
    except urllib.error.HTTPError as exc:  # an error answer carries them too
        return dict(exc.headers)


def test_no_answer_may_be_framed_by_another_site(tmp_path: Path):
    with served(small_project(tmp_path / "p")) as url:
        for path in ("", "static/app.js", "api/project", "api/assets/nope", "static/nope.js"):
            got = headers_of(url + path)
            assert "frame-ancestors 'none'" in got["Content-Security-Policy"], path
            assert got["X-Frame-Options"] == "DENY", path
            assert got["X-Content-Type-Options"] == "nosniff", path
            assert got["Referrer-Policy"] == "no-referrer", path


def _response(conn: socket.socket) -> str:
    """One whole HTTP response: its headers, then as many bytes as its Content-Length says
    (the body may come in a segment of its own)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data.decode()
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length and (chunk := conn.recv(4096)):
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


def test_a_bad_content_length_is_refused_at_once(tmp_path: Path):
    with served(small_project(tmp_path / "p")) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        for length in ("-1", "ten"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(
                    b"POST /api/runs/nope/cancel HTTP/1.1\r\n"
                    + f"Host: 127.0.0.1:{port}\r\n".encode()
                    + b"Content-Type: application/json\r\n"
                    + f"Content-Length: {length}\r\n\r\n".encode()
                )
                answer = _response(conn)  # a socket.timeout: the server waited
            assert answer.startswith("HTTP/1.1 400"), answer
            assert "a bad Content-Length" in answer


def test_token_asks_for_the_token_on_loopback_too(tmp_path: Path):
    server = start_ui(small_project(tmp_path / "p"), "--token")
    try:
        base, _, token = server.url.partition("?token=")
        assert base.startswith("http://127.0.0.1:") and token
        for given in ({}, {"X-Teal-Token": "wrong"}, {"X-Teal-Token": "jeton-é"}):
            asked = urllib.request.Request(f"{base}api/project", headers=given)
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(asked, timeout=10)
            assert info.value.code == 401, given
            assert json.loads(info.value.read())["error"] == "this server needs its token"
        asked = urllib.request.Request(f"{base}api/project", headers={"X-Teal-Token": token})
        with urllib.request.urlopen(asked, timeout=10) as response:
            assert json.loads(response.read())["models"] == 1
        with urllib.request.urlopen(base, timeout=10) as page:  # the page itself is open
            assert b"app.js" in page.read()
    finally:
        stop_ui(server)
