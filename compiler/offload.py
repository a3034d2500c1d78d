"""Work a command hands to a forked child, so that it runs on the second core.

**Parsing ahead.** Parsing is most of a cold load: sqlglot takes about 0.35 ms per model
of the benchmark project. When the compile cache does not know many of the SQL files, the
loader forks once: the child renders and parses the last ~57 % of those files and sends
back the compile-cache entries it made, while the parent reads the YAML and Python files
and parses the rest. The parent then stages the child's files as cache hits. If the child
fails or dies, the parent finds those files missing from its cache and parses them itself,
so a failure here costs time, never a result; errors in a file are always reported by the
parent's own parse.

**Writing behind.** Storing what a cold load computed (the compile cache and the project
snapshot: 0.7 s of pickling for 10,000 models) is done by a forked child while the command
goes on with its plan or build; the process waits for the child before it exits, and a
load waits for it before reading, so the next command always finds the files.

Forking is only safe in a process with no other thread (one might hold a lock the child
would wait on forever) and only pays off with a second core. It is also a surprise inside
someone else's program, so only the command line's load strategy turns it on
(compiler/strategy.py, which also holds the forked writers); the Python API does the same
work in line.
"""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from teal.compiler.strategy import LoadStrategy

MIN_FILES = 100  # below this, forking (about 5 ms) wins less than it costs
CHILD_SHARE = 0.57


class ParseAhead:
    """A forked child parsing ``paths``; :meth:`collect` takes what it parsed."""

    def __init__(self, pid: int, fd: int, paths: set[Path]) -> None:
        self.pid, self.fd, self.paths = pid, fd, paths
        self.collected = False

    @classmethod
    def start(
        cls,
        unknown: Sequence[Path],
        cache: Any,
        parse: Callable[[Path], Any],
        parsed: Callable[[], int],
        strategy: LoadStrategy,
    ) -> ParseAhead | None:
        """Fork a child to ``parse`` the last part of ``unknown`` (the SQL files the cache
        does not know), or None where that is unsafe or not worth it. The child takes a
        little more than half: the parent reads the YAML and Python files meanwhile."""
        if len(unknown) < MIN_FILES or not strategy.can_fork():
            return None
        from sqlglot.dialects.dialect import Dialect

        from teal.compiler.sql import DIALECT

        Dialect.get_or_raise(DIALECT)  # sqlglot imported once, before the fork
        theirs = list(unknown[int(len(unknown) * (1 - CHILD_SHARE)) :])
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: parse, send the new cache entries, exit without cleanup
            status = 1
            try:
                os.close(read_fd)
                before = cache.keys()
                for path in theirs:
                    try:
                        parse(path)
                    except Exception:  # noqa: BLE001 - the parent parses it and reports
                        pass
                payload = pickle.dumps(
                    (parsed(), cache.entries_since(before)), protocol=pickle.HIGHEST_PROTOCOL
                )
                with os.fdopen(write_fd, "wb") as fh:
                    fh.write(payload)
                status = 0
            finally:
                os._exit(status)
        os.close(write_fd)
        return cls(pid, read_fd, set(theirs))

    def collect(self, cache: Any) -> int:
        """Wait for the child and add its entries to ``cache``; returns how many files it
        parsed (0 if it failed: the parent then parses them)."""
        if self.collected:
            return 0
        self.collected = True
        with os.fdopen(self.fd, "rb") as fh:
            data = fh.read()
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:  # reaped already (SIGCHLD ignored): judge by what it sent
            status = 0
        if status != 0 or not data:
            return 0
        try:
            parsed, entries = pickle.loads(data)
        except Exception:  # noqa: BLE001 - a cut-off message: parse here instead
            return 0
        cache.adopt(entries)
        return int(parsed)

    def abandon(self) -> None:
        """Stop and reap the child if its work is no longer wanted (the load failed first)."""
        if self.collected:
            return
        self.collected = True
        os.close(self.fd)
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


class ForkedCall:
    """``compute()`` run in a forked child while the parent does other work, its
    (picklable) result read back: a cold ``teal compile`` traces half its models' lineage
    here (compiler/model_trace.py) and writes its compiled SQL here. Whatever goes wrong
    in the child, the parent computes the result itself (:meth:`result` returns None)."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd
        self.done = False

    @classmethod
    def start(cls, compute: Callable[[], object], strategy: LoadStrategy) -> ForkedCall | None:
        """The child computing ``compute()``, or None where forking is unsafe."""
        if not strategy.can_fork():
            return None
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, send, exit without cleanup
            status = 1
            try:
                os.close(read_fd)
                payload = pickle.dumps(compute(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_fd, "wb") as fh:
                    fh.write(payload)
                status = 0
            finally:
                os._exit(status)
        os.close(write_fd)
        return cls(pid, read_fd)

    def result(self) -> object | None:
        """Wait for the child; what it computed, or None if it failed."""
        if self.done:
            return None
        self.done = True
        try:
            with os.fdopen(self.fd, "rb") as fh:
                data = fh.read()
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                status = 0
        except BaseException:  # interrupted while waiting: the child's work is not wanted
            self._kill()
            raise
        if status != 0 or not data:
            return None
        try:
            return pickle.loads(data)
        except Exception:  # noqa: BLE001 - a cut-off message: compute it here instead
            return None

    def abandon(self) -> None:
        """Stop and reap the child (its result is no longer wanted)."""
        if self.done:
            return
        self.done = True
        os.close(self.fd)
        self._kill()

    def _kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
