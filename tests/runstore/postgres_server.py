"""A real Postgres server for the run store's tests: Debian's ``postgresql`` binaries,
a temporary data directory, a free loopback port, stopped when the tests end."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def binaries() -> Path | None:
    """The folder of the newest installed Postgres server binaries, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One server in a temporary folder; ``stop`` and ``start`` it again on the same port
    (a restart, or an outage, in the middle of what a test runs)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # the server refuses to run as root: then it runs as the postgres system user
        self._as_user: list[str] = []
        owner = None
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.base = Path(tempfile.mkdtemp(prefix="teal-pg-"))
        self.data = self.base / "data"
        if owner is not None:
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self.port = _free_port()
        self.url = f"postgresql://teal@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "teal", "--auth=trust",
            "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.base / "log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def running_server() -> Iterator[PostgresServer]:
    """Start a server; yields it (its ``url``: the ``postgres`` database, superuser ``teal``)."""
    bindir = binaries()
    if bindir is None:
        raise FileNotFoundError("no Postgres server binaries (apt-get install postgresql)")
    server = PostgresServer(bindir)
    try:
        server.init()
        server.start()
        try:
            yield server
        finally:  # a test may have left it stopped
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop("immediate")
    finally:
        server.remove()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yields the URL of its ``postgres`` database as superuser ``teal``."""
    with running_server() as server:
        yield server.url
