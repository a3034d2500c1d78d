"""Python model files are imported only when needed: end to end through the real CLI.

A warm load (``teal plan``, ``teal ls``, the load of ``teal build``) reads what the model
files declare from ``.teal/cache`` instead of importing them; a build imports a file when it
runs one of its functions. What a user must not notice: builds, checks, partitions and
error messages are the same as when every file is imported; an edit to a model file or to a
project-local helper it imports is seen by the next command.

Every model file here appends a line to ``imports.log`` in the project root each time it is
imported, so the tests can count imports across processes.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

TRACEBACK = "Traceback (most recent call last)"
NOW = {"TEAL_NOW": "2026-03-01T00:00:00"}

# Module-level code of every model file below: find the project root (the folder holding
# teal.toml, however deep the file is) and record that the file was imported.
MARK = """\
from pathlib import Path

import pyarrow as pa
import teal

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "teal.toml").is_file())
with open(ROOT / "imports.log", "a", encoding="utf-8") as log:
    log.write(__name__ + "\\n")
"""


def model_file(body: str, head: str = MARK) -> str:
    return head + "\n\n" + textwrap.dedent(body).lstrip("\n")


def imports(root: Path) -> int:
    """How many times a model file was imported so far (by any process)."""
    log = root / "imports.log"
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


def teal(root: Path, *args: str, code: int = 0, env: dict[str, str] | None = None):
    done = run_teal(*args, cwd=root, env={**NOW, **(env or {})})
    assert done.returncode == code, done.output
    assert TRACEBACK not in done.output, done.output
    return done


def names(root: Path) -> list[str]:
    return teal(root, "ls", "-o", "name").stdout.split()


def line_of(text: str, fragment: str) -> int:
    """1-based line of the first line of ``text`` containing ``fragment``."""
    return next(i for i, ln in enumerate(text.splitlines(), 1) if fragment in ln)


def write(root: Path, rel: str, text: str) -> None:
    (root / rel).write_text(text, encoding="utf-8")


# -- 1. a warm load does not import; a build imports once and runs assets and checks ------------

THINGS_PY = model_file("""
    import polars as pl


    @teal.asset
    def things() -> pa.Table:
        return pa.table({"n": [1, 2, 3], "label": ["a", "b", "c"]})


    @teal.asset_check(asset="things")
    def things_has_three_rows(things: pa.Table) -> teal.CheckResult:
        return teal.CheckResult(passed=things.num_rows == 3, metadata={"rows": things.num_rows})


    @teal.asset_check(asset="things", severity="warn")
    def things_over_ten_rows(things: pl.DataFrame) -> bool:
        return things.height > 10
""")


def test_a_warm_load_imports_nothing_and_the_build_imports_the_file_once(project) -> None:
    root = project({"models/raw/things.py": THINGS_PY})

    cold = teal(root, "plan")
    assert "things" in cold.stdout
    assert imports(root) == 1
    warm = teal(root, "plan")
    assert warm.stdout == cold.stdout
    assert imports(root) == 1  # read from the cache: the file did not run

    out = teal(root, "build").stdout
    assert imports(root) == 2  # once, by the build, for the asset and both checks
    assert "1 built, 0 failed" in out, out
    assert query(root / "warehouse.duckdb", "select * from raw.things order by n") == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
    ]

    run_id = query(
        root / "warehouse.duckdb", "select run_id from teal.runs order by started_at desc limit 1"
    )[0][0]
    checks = query(
        root / "warehouse.duckdb",
        "select check_name, asset, kind, severity, status, message "
        f"from teal.check_results where run_id = '{run_id}' order by check_name",
    )
    assert checks == [
        ("things_has_three_rows", "things", "python", "error", "pass", "{'rows': 3}"),
        ("things_over_ten_rows", "things", "python", "warn", "warn", None),
    ]

    teal(root, "ls")
    assert imports(root) == 2  # the build left the cache warm


# -- 2. an edited model file is seen by the next command -----------------------------------------

GADGETS_PY = model_file("""
    @teal.asset
    def gadgets() -> pa.Table:
        return pa.table({"n": [1, 2]})
""")

RENAMED_PY = model_file("""
    import pyarrow.compute as pc


    @teal.asset
    def gizmos() -> pa.Table:
        return pa.table({"n": [1, 2, 3]})


    @teal.asset
    def doubled_gizmos(gizmos: pa.Table) -> pa.Table:
        return pa.table({"n": pc.multiply(gizmos["n"], 2)})
""")


def test_editing_a_model_file_is_seen_by_the_next_command(project) -> None:
    root = project({"models/gadgets.py": GADGETS_PY})
    assert names(root) == ["gadgets"]
    assert names(root) == ["gadgets"]
    assert imports(root) == 1

    write(root, "models/gadgets.py", RENAMED_PY)  # renamed, plus a second asset
    assert names(root) == ["gizmos", "doubled_gizmos"]
    assert imports(root) == 2  # the changed file was imported again
    assert names(root) == ["gizmos", "doubled_gizmos"]
    assert imports(root) == 2

    out = teal(root, "build").stdout
    assert "2 built, 0 failed" in out, out
    db = root / "warehouse.duckdb"
    assert query(db, "select n from gizmos order by n") == [(1,), (2,), (3,)]
    assert query(db, "select n from doubled_gizmos order by n") == [(2,), (4,), (6,)]
    assert query(
        db, "select count(*) from information_schema.tables where table_name = 'gadgets'"
    ) == [(0,)]


# -- 3. a project-local helper module the model file imports -----------------------------------

# ``python -m teal.cli`` run from the project root would find a helper beside teal.toml on its
# own (the working directory is sys.path[0]), the installed ``teal`` script would not: the model
# file puts the project's lib/ folder on sys.path itself, as a user's file must today.
NAMED_PY = model_file("""
    import sys

    if str(ROOT / "lib") not in sys.path:
        sys.path.insert(0, str(ROOT / "lib"))

    import naming


    @teal.asset(name=f"{naming.PREFIX}_orders", tags=[naming.TAG])
    def orders() -> pa.Table:
        return pa.table({"order_id": [10, 11]})
""")

NAMING_PY = 'from colors import COLOR\n\nPREFIX = "{prefix}"\nTAG = COLOR + "_team"\n'
COLORS_PY = 'COLOR = "{color}"\n'


def listed(root: Path) -> list[tuple[str, list[str]]]:
    entries = json.loads(teal(root, "ls", "--json").stdout)
    return [(e["name"], e["tags"]) for e in entries]


def test_changing_only_a_helper_module_is_seen_by_the_next_command(project) -> None:
    root = project(
        {
            "models/named.py": NAMED_PY,
            "lib/naming.py": NAMING_PY.format(prefix="alpha"),
            "lib/colors.py": COLORS_PY.format(color="red"),
        }
    )
    assert listed(root) == [("alpha_orders", ["red_team"])]
    assert listed(root) == [("alpha_orders", ["red_team"])]
    assert imports(root) == 1

    write(root, "lib/naming.py", NAMING_PY.format(prefix="beta"))  # the model file is unchanged
    assert listed(root) == [("beta_orders", ["red_team"])]
    assert imports(root) == 2
    assert listed(root) == [("beta_orders", ["red_team"])]
    assert imports(root) == 2

    # a helper of the helper counts too
    write(root, "lib/colors.py", COLORS_PY.format(color="blue"))
    assert listed(root) == [("beta_orders", ["blue_team"])]
    assert imports(root) == 3

    out = teal(root, "build", "-s", "tag:blue_team").stdout
    assert "1 built, 0 failed" in out, out
    assert query(root / "warehouse.duckdb", "select order_id from beta_orders order by 1") == [
        (10,),
        (11,),
    ]


# -- 4. an asset raising at run time, declared from the cache -----------------------------------

FLAKY_PY = model_file("""
    @teal.asset
    def flaky() -> pa.Table:
        rows = [1, 2, 3]
        raise ValueError(f"bad batch of {len(rows)} rows")
""")

STEADY_PY = model_file("""
    @teal.asset
    def steady() -> pa.Table:
        return pa.table({"n": [7]})
""")


def test_an_asset_raising_from_a_cached_declaration_points_at_the_raise(project) -> None:
    root = project({"models/flaky.py": FLAKY_PY, "models/steady.py": STEADY_PY})
    teal(root, "plan")
    teal(root, "ls")
    assert imports(root) == 2  # both files once, by the cold plan; ls read the cache

    line = line_of(FLAKY_PY, "raise ValueError")
    done = teal(root, "build", code=1)
    assert f"models/flaky.py:{line}: ValueError: bad batch of 3 rows" in done.stdout, done.output
    assert "1 built, 1 failed" in done.stdout, done.output
    assert query(root / "warehouse.duckdb", "select n from steady") == [(7,)]

    debug = run_teal("build", "-s", "flaky", "--debug", cwd=root, env=NOW)
    assert debug.returncode == 1, debug.output
    assert TRACEBACK in debug.output
    assert f"models/flaky.py:{line}: ValueError: bad batch of 3 rows" in debug.stdout
    assert f'File "{root.resolve() / "models/flaky.py"}", line {line}, in flaky' in debug.output


# -- 5. a syntax error introduced after a cached load -------------------------------------------

NUMBERS_PY = model_file("""
    @teal.asset
    def numbers() -> pa.Table:
        return pa.table({"n": [1, 2, 3]})
""")


def test_a_syntax_error_after_a_cached_load_is_reported_with_its_line(project) -> None:
    root = project({"models/raw/numbers.py": NUMBERS_PY})
    teal(root, "plan")
    teal(root, "plan")
    assert imports(root) == 1

    broken = NUMBERS_PY.replace("def numbers() -> pa.Table:", "def numbers(:")
    write(root, "models/raw/numbers.py", broken)
    line = line_of(broken, "def numbers(:")
    done = teal(root, "build", code=2)
    assert any(
        ln.startswith(f"models/raw/numbers.py:{line}:") for ln in done.stderr.splitlines()
    ), done.output
    assert "Python syntax error" in done.stderr
    assert "Building" not in done.stdout  # nothing ran
    assert not (root / "warehouse.duckdb").exists() or query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'numbers'",
    ) == [(0,)]

    # put back: the text the cache knows is read from it again, and the build works
    write(root, "models/raw/numbers.py", NUMBERS_PY)
    before = imports(root)
    teal(root, "plan")
    assert imports(root) == before
    teal(root, "build")
    assert query(root / "warehouse.duckdb", "select n from raw.numbers order by n") == [
        (1,),
        (2,),
        (3,),
    ]


# -- 6. a partitioned Python asset built by two processes from the cache --------------------------

TICKS_PY = model_file("""
    from datetime import timedelta


    @teal.asset(partitioned_by={"daily": {"start": "2026-01-01", "end": "2026-01-04"}},
                partition_column="ts")
    def ticks(context: teal.AssetContext) -> pa.Table:
        start, _ = context.partition_window
        bump = int(context.vars.get("bump", 0))
        hours = range(start.day)  # day 1: one row, day 2: two rows, day 3: three rows
        return pa.table({"ts": pa.array([start + timedelta(hours=h) for h in hours],
                                        pa.timestamp("us")),
                         "v": [h * 10 + bump for h in hours]})
""")


def built_keys(output: str, model: str) -> list[str]:
    return re.findall(rf"^\s+{re.escape(model)} \[\s*\d+/\d+\] OK\s+(\S+)", output, re.M)


def per_day(root: Path) -> dict[str, tuple[int, int]]:
    rows = query(
        root / "warehouse.duckdb",
        "select strftime(ts::date, '%Y-%m-%d'), count(*), sum(v) from ticks group by 1 order by 1",
    )
    return {day: (n, total) for day, n, total in rows}


def test_a_partitioned_asset_builds_and_refreshes_from_cached_declarations(project) -> None:
    root = project({"models/ticks.py": TICKS_PY})
    teal(root, "plan")
    assert imports(root) == 1

    out = teal(root, "build", "-v").stdout  # -v: a progress line per partition
    assert imports(root) == 2
    assert sorted(built_keys(out, "ticks")) == ["2026-01-01", "2026-01-02", "2026-01-03"], out
    before = per_day(root)
    assert before == {"2026-01-01": (1, 0), "2026-01-02": (2, 10), "2026-01-03": (3, 30)}

    out = teal(
        root, "build", "-v", "-s", "ticks", "--partition", "2026-01-02", "--vars", "{bump: 100}"
    ).stdout
    assert imports(root) == 3
    assert built_keys(out, "ticks") == ["2026-01-02"], out
    assert per_day(root) == {**before, "2026-01-02": (2, 10 + 2 * 100)}
    assert query(root / "warehouse.duckdb", "select count(*) - count(distinct ts) from ticks") == [
        (0,)
    ]


# -- concurrency: two assets of one file, run at the same time from the cache ---------------------

PAIR_PY = model_file("""
    import time

    time.sleep(0.5)  # slow module-level code, like a heavy import


    @teal.asset
    def first() -> pa.Table:
        return pa.table({"n": [1]})


    @teal.asset
    def second() -> pa.Table:
        return pa.table({"n": [2]})
""")


def test_two_assets_of_one_file_built_concurrently_from_the_cache(project) -> None:
    root = project({"models/pair.py": PAIR_PY}, config='name = "pair"\nthreads = 4\n')
    teal(root, "plan")
    assert imports(root) == 1

    out = teal(root, "build").stdout
    assert "2 built, 0 failed" in out, out
    assert imports(root) == 2
    assert query(
        root / "warehouse.duckdb", "select (select n from first), (select n from second)"
    ) == [(1, 2)]


# -- a model file that fails at import only when the build imports it ----------------------------

ENVY_PY = model_file("""
    import os

    SCALE = int(os.environ.get("ENVY_SCALE", "1"))


    @teal.asset
    def envy() -> pa.Table:
        return pa.table({"n": [SCALE]})
""")


def test_an_import_error_met_by_the_build_reads_like_one_met_by_the_load(project, tmp_path) -> None:
    line = line_of(ENVY_PY, "SCALE = int(")
    expected = (
        f"models/envy.py:{line}:1: importing the model file raised ValueError: "
        "invalid literal for int() with base 10: 'ten'"
    )
    bad = {"ENVY_SCALE": "ten"}

    cold_root = project({"models/envy.py": ENVY_PY}, name="cold")
    cold = teal(cold_root, "build", code=2, env=bad)  # no cache: the load imports the file
    assert cold.stderr.startswith(expected), cold.output

    root = project({"models/envy.py": ENVY_PY}, name="warm")
    teal(root, "plan")  # caches the declarations (the import worked without the variable)
    warm = run_teal("build", cwd=root, env={**NOW, **bad})
    assert warm.returncode != 0, warm.output
    assert TRACEBACK not in warm.output
    assert "ParseError" not in warm.output, warm.output
    assert any(ln.strip().startswith(expected) for ln in warm.output.splitlines()), warm.output
