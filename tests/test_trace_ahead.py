"""A cold compile traces lineage on both cores and type-checks on the trees it traces
(compiler/model_trace.py, runtime/type_check.py).

What a user must not notice: the lineage and the type errors are those a serial trace
finds, whatever names the models were traced ahead against, and a child that dies costs
time, not results.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from teal.compiler import model_trace, offload
from teal.compiler.column_lineage import ColumnGraph, column_graph
from teal.compiler.errors import ErrorGroup, TealError
from teal.compiler.model_trace import Tracing, TypedTrace
from teal.compiler.project import load_project
from teal.compiler.strategy import LoadStrategy
from teal.runtime.type_check import TypeErrors, type_errors
from teal.runtime.validate import validate_selection
from tests.conftest import run_teal

pytestmark = pytest.mark.slow

N = offload.MIN_FILES * 2 + 20


def _files(n: int = N) -> dict[str, str]:
    """A chain of models, some reading ``*`` (their names only DuckDB's binder gives
    ahead), some joining, one joining a number to text."""
    files = {"models/base/m0.sql": "select range as id, range % 7 as grp from range(100)"}
    for i in range(1, n):
        up = f"m{(i - 1) // 2}"
        if i % 5 == 0:
            body = f"select *, {i} as level{i} from {up}"
        elif i % 5 == 1:
            body = f"select a.id, a.grp, b.id as other\nfrom {up} a\njoin m0 b on a.id = b.id"
        else:
            body = f"with src as (select id, grp from {up})\nselect id, grp, {i} as level\nfrom src"
        files[f"models/{'base' if i < n // 2 else 'top'}/m{i}.sql"] = f"-- model {i}\n{body}\n"
    files["models/top/bad.sql"] = (
        "select a.id from m1 a\njoin (select 'x' as id) b on a.id = b.id\n"
    )
    return files


def _validated(root: Path, strategy: LoadStrategy) -> tuple[ColumnGraph, list[str]]:
    """The lineage and the errors of ``teal validate`` of every model, with ``strategy``."""
    loaded = load_project(root, strategy=strategy)
    strategy.wait()
    graphs: list[ColumnGraph] = []

    def columns(typed: TypedTrace) -> ColumnGraph:
        graphs.append(column_graph(loaded, typed=typed))
        return graphs[-1]

    try:
        validate_selection(loaded, loaded.dag.order(), columns, strategy, None)
        errors: list[str] = []
    except ErrorGroup as exc:
        errors = [str(e) for e in exc.errors]
    except TealError as exc:
        errors = [str(exc)]
    return graphs[0], errors


def _serial(root: Path) -> tuple[ColumnGraph, list[str]]:
    """The lineage traced in build order by one process, the types checked by parsing."""
    shutil.rmtree(root / ".teal", ignore_errors=True)
    loaded = load_project(root)
    graph = column_graph(loaded, use_cache=False)
    found = graph.errors() + type_errors(loaded, loaded.dag.order(), use_cache=False)
    return graph, [str(e) for e in found]


@pytest.fixture
def halves(monkeypatch: pytest.MonkeyPatch) -> list[Tracing]:
    """The parent traces the first half of the models and the child the second half
    (where they meet depends on timing otherwise); the passes made, to look at."""
    real_claim = model_trace._Ends.claim_front
    count = len(_files()) - 1  # the SQL models to trace: all but bad.sql's share

    def front_half(ends: model_trace._Ends, at: int) -> bool:
        return at < count // 2 and real_claim(ends, at)

    monkeypatch.setattr(model_trace._Ends, "claim_front", front_half)
    passes: list[Tracing] = []
    real_finish = Tracing.finish
    monkeypatch.setattr(Tracing, "finish", lambda t: passes.append(t) or real_finish(t))
    return passes


def _lineage(graph: ColumnGraph) -> dict[str, object]:
    return {name: graph.plain(name) for name in graph.project.dag.order()}


@pytest.fixture
def strategy():
    chosen = LoadStrategy(fork=True)
    if not chosen.can_fork():
        pytest.skip("forking is not possible here")
    yield chosen
    chosen.wait()


def test_lineage_traced_on_two_cores_equals_one_traced_serially(project, strategy, halves) -> None:
    root = project(_files())
    graph, errors = _validated(root, strategy)
    (tracing,) = [t for t in halves if t.typed is not None]
    # the child traced the second half, against names DuckDB and select lists gave
    # (a model reading '*' included), and the parent took every one of them
    assert len(tracing.ahead) >= N // 2 - 1 and tracing.again == []
    assert graph.traced == len(graph.project.models)
    serial, serial_errors = _serial(root)
    assert _lineage(graph) == _lineage(serial)
    assert errors == serial_errors
    assert len(errors) == 1 and "models/top/bad.sql:2:" in errors[0]
    assert "number" in errors[0] and "text" in errors[0]
    # a model reading '*' has its upstream's columns and its own
    assert graph.columns_of("m5") == ("id", "grp", "level", "level5")


def test_a_model_traced_ahead_against_wrong_names_is_traced_again(
    project, strategy, halves, monkeypatch
) -> None:
    """DuckDB's names stand in for the traced ones ahead; where they differ, the serial
    pass traces the model again against the names its upstreams were traced to."""
    root = project(_files())
    real_names = TypeErrors.names

    def wrong(typing: TypeErrors, name: str, ups: dict[str, tuple[str, ...]]):
        return ("nope",) if name == "m100" else real_names(typing, name, ups)

    monkeypatch.setattr(TypeErrors, "names", wrong)
    graph, errors = _validated(root, strategy)
    (tracing,) = [t for t in halves if t.typed is not None]
    assert sorted(tracing.again) == ["m201", "m202"]  # what reads m100, a '*' model
    serial, serial_errors = _serial(root)
    assert _lineage(graph) == _lineage(serial)
    assert errors == serial_errors


def test_a_tracing_child_that_dies_costs_time_not_results(
    project, strategy, halves, monkeypatch
) -> None:
    root = project(_files())
    real = offload.ForkedCall.start
    monkeypatch.setattr(
        offload.ForkedCall, "start", lambda compute, s: real(lambda: os._exit(3), s)
    )
    graph, errors = _validated(root, strategy)
    (tracing,) = [t for t in halves if t.typed is not None]
    assert len(tracing.again) >= N // 2 - 1  # the parent typed and traced the child's half
    serial, serial_errors = _serial(root)
    assert _lineage(graph) == _lineage(serial)
    assert errors == serial_errors


def test_types_checked_with_the_lineage_cached_are_found_by_parsing(project, strategy) -> None:
    """A compile whose lineage is cached but whose types are not (the types cache lost)
    checks joins by parsing each model again: the same error."""
    root = project(_files())
    _, first = _validated(root, strategy)
    (root / ".teal" / "cache" / "types.pickle").unlink()
    graph, again = _validated(root, strategy)
    assert graph.traced == 0 and again == first


def test_teal_compile_reports_a_join_of_a_number_to_text_with_two_cores(project) -> None:
    """The compiled SQL is written by a child while the models are typed: a compile that
    fails on a column keeps it, whole, and writes no manifest."""
    root = project(_files())
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "models/top/bad.sql:2:" in done.stderr and "Traceback" not in done.stderr
    assert not (root / "target/manifest.json").exists()
    written = root / "target/compiled/models/top/bad.sql"
    assert written.read_text().endswith("on a.id = b.id\n")
    (root / "models/top/bad.sql").unlink()
    done = run_teal("compile", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Compiled {N} of {N} models" in done.stdout


def test_compiled_sql_is_written_in_line_when_its_writer_dies(project, monkeypatch) -> None:
    from teal.runtime.session import Session

    files = _files()
    del files["models/top/bad.sql"]
    root = project(files)
    real = offload.ForkedCall.start
    started: list[int] = []

    def dying(compute: object, strategy: LoadStrategy) -> offload.ForkedCall | None:
        started.append(1)
        return real(lambda: os._exit(3), strategy)

    monkeypatch.setattr(offload.ForkedCall, "start", dying)
    session = Session.open(root, strategy=LoadStrategy(fork=True))
    if not session.strategy or not session.strategy.can_fork():
        pytest.skip("forking is not possible here")
    compiled = session.compile()
    session.strategy.wait()
    assert started and compiled.written == N
    sql = sorted((root / "target/compiled/models").rglob("*.sql"))
    assert len(sql) == N and sql[0].read_text().startswith("-- m0: ")


def test_a_claim_lock_never_released_is_given_up_not_waited_on_forever() -> None:
    """The child could die holding the lock of the two ends; the parent then stops
    claiming (and collects, or gives up on, the child)."""
    ends = model_trace._Ends(4)
    assert ends.claim_front(0) and ends.claim_back() == 3
    ends.patience = 0.1
    ends._lock.acquire()  # held by a process that will never release it
    assert ends.claim_front(1) is False
