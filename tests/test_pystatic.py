"""Python model files read without running them: the same declarations as an import, or none.

``compiler.pystatic`` reads what a simple model file declares from its syntax tree; anything
only running the file can tell makes it give up, and the file is imported. Each case below
is written to a file and read both ways: where the reader answers, its records must equal
those the import makes (names, parameters, input kinds, config, source lines, the function
source that versions the model).
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from teal.compiler.project import load_project
from teal.compiler.pyfiles import _record, declared, import_file
from teal.compiler.pystatic import read_declarations
from tests.conftest import query, run_teal

READABLE = {
    "plain": '''
        """Orders, in Polars."""
        import polars as pl
        import pyarrow as pa

        import teal


        @teal.asset
        def orders(raw_orders: pl.DataFrame, context) -> pl.DataFrame:
            """Orders with a total."""
            return raw_orders


        @teal.asset(schema="marts", tags=["daily", "core"], deps=["stg_x", orders],
                    meta={"owner": "ana"}, group="sales", materialized="table", vars=["days"])
        def summary(orders: pa.Table, customers):  # a comment on the def line
            return orders

        # a comment between functions


        @teal.asset_check(asset=summary, severity="warn")
        def summary_not_empty(summary: pa.Table):
            """At least one row."""
            return summary.num_rows > 0
    ''',
    "from_imports_and_strings": """
        from __future__ import annotations

        from polars import DataFrame as Frame
        from pyarrow import RecordBatchReader
        from typing import Any

        from teal import asset, asset_check

        LIMIT = 10 * 2
        LABELS = {"a": [1, 2], "b": (3,)}
        NAME: str = f"x{LIMIT}"


        def helper(frame):
            return frame.head(LIMIT)


        async def later():
            return None


        @asset(name="renamed", description="Given here.", partitioned_by={"daily": {"start": "2026-01-01"}},
               partition_column="day", partition_mapping={"up": "identity"}, backfill_policy="single_run")
        def original(up: "Frame", reader: RecordBatchReader, anything: Any, other: None, /, *, context):
            return helper(up)


        @asset_check(asset="renamed", name="has_rows", description="")
        def check_it(renamed: Frame, *args, **kwargs):
            return True


        if __name__ == "__main__":
            print(original)
    """,
    "trailing_comments_and_form_feed": '''
        """A form feed \x0c and a line separator \u2028 in a comment, before the function."""
        # \u2028 here
        import teal


        @teal.asset
        def a():
            return 1
            # still part of the function, for inspect
        # not part of it

        # not part of it either
    ''',
    "config_and_resource_classes": '''
        import datetime

        import polars as pl

        import teal


        class Window(teal.Config):
            """How far to look."""

            days: int = 7
            since: datetime.date | None = None


        class Api(teal.Resource):
            token: str

            def headers(self, extra: int = 1) -> dict:
                return {"Authorization": self.token}


        @teal.asset
        def forecast(context, api: Api, orders: pl.DataFrame, config: Window, db):
            return None


        @teal.asset_check(asset="forecast")
        def forecast_ok(forecast, api: Api):
            return True
    ''',
    "no_assets": """
        import os

        ROOT = "data"
    """,
}

NEEDS_IMPORT = {
    "module_level_call": "import teal\nimport polars as pl\nSTART = pl.datetime(2025, 1, 1)\n",
    "print": "print('hello')\n",
    "other_decorator": "import functools\nimport teal\n\n@teal.asset\n@functools.cache\ndef a():\n    pass\n",
    "unknown_decorator": "import functools\n\n@functools.cache\ndef a():\n    pass\n",
    "non_literal_argument": "import teal\nTAGS = ['x']\n\n@teal.asset(tags=TAGS)\ndef a():\n    pass\n",
    "positional_argument": "import teal\n\n@teal.asset('name')\ndef a():\n    pass\n",
    "star_import": "from teal import *\n\n@asset\ndef a():\n    pass\n",
    "loop": "import teal\nfor i in range(3):\n    pass\n",
    "try_import": "try:\n    import polars\nexcept ImportError:\n    polars = None\n",
    "alias_of_an_asset": "import teal\n\n@teal.asset\ndef a():\n    pass\n\nb = a\n",
    "redefined_asset": "import teal\n\n@teal.asset\ndef a():\n    pass\n\ndef a():\n    pass\n",
    "unsupported_annotation": "import teal\n\n@teal.asset\ndef a(up: int):\n    pass\n",
    "unknown_annotation": "import teal\n\n@teal.asset\ndef a(up: Frame):\n    pass\n",
    "relative_import_annotation": "import teal\nfrom .types import Frame\n\n@teal.asset\ndef a(up: Frame):\n    pass\n",
    "check_without_asset": "import teal\n\n@teal.asset_check\ndef c(up):\n    pass\n",
    "dep_defined_later": "import teal\n\n@teal.asset(deps=[b])\ndef a():\n    pass\n\n@teal.asset\ndef b():\n    pass\n",
    "syntax_error": "import teal\n\ndef a(:\n    pass\n",
    "class": "import teal\n\nclass Shape:\n    size = 3\n",  # its body runs at import
    "config_class_with_a_call": "import teal\n\nclass C(teal.Config):\n    n: int = len('ab')\n",
    "config_class_decorated_method": "import teal\nimport functools\n\n"
    "class C(teal.Config):\n    @functools.cache\n    def f(self):\n        pass\n",
    "two_config_params": "import teal\n\nclass C(teal.Config):\n    n: int = 1\n\n"
    "@teal.asset\ndef a(x: C, y: C):\n    pass\n",
    "redefined_check": "import teal\n\n@teal.asset_check(asset='a', name='one')\ndef check(a):\n"
    "    return True\n\n@teal.asset_check(asset='a', name='two')\n"
    "def check(a):\n    return False\n",
    "rebound_check": "import teal\n\n@teal.asset_check(asset='a')\ndef c(a):\n    return True\n\nc = 1\n",
    "default_calls": "import teal\n\ndef helper(x=print('hi')):\n    pass\n",
    "annotation_defined_later": "import teal\n\n@teal.asset\ndef a() -> Later:\n    pass\n\n"
    "Later = int\n",
    "postponed_annotation_defined_later": "from __future__ import annotations\nimport teal\n\n"
    "@teal.asset\ndef a() -> 'Later':\n    pass\n",
    "parenthesised_decorator": "import teal\n\n@(\n    teal.asset\n)\ndef a():\n    pass\n",
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _imported(path: Path) -> dict:
    module = import_file(path, f"teal_test_pystatic_{path.stem}", path.name)
    try:
        assets, checks = declared(module, path)
        return {
            "assets": [_record(a, d) for a, d in assets],
            "checks": [_record(a, c) for a, c in checks],
        }
    finally:
        sys.modules.pop(f"teal_test_pystatic_{path.stem}", None)


@pytest.mark.parametrize("case", sorted(READABLE))
def test_a_simple_file_read_from_its_text_declares_what_its_import_declares(tmp_path, case) -> None:
    path = _write(tmp_path, case, READABLE[case])
    static = read_declarations(path, path.read_text(encoding="utf-8"))
    assert static is not None
    assert static == _imported(path)


def test_the_records_carry_what_the_decorators_say(tmp_path) -> None:
    path = _write(tmp_path, "plain", READABLE["plain"])
    records = read_declarations(path, path.read_text(encoding="utf-8"))
    orders, summary = records["assets"]
    assert orders["annotations"] == {"raw_orders": "polars.DataFrame"}
    assert orders["fields"]["wants_context"] is True
    assert orders["fields"]["config"] == {"description": "Orders with a total."}
    assert summary["fields"]["deps"] == ("stg_x", "orders")
    assert summary["fields"]["source_line"] == 14  # the decorator's line, as inspect says
    assert summary["source_text"].startswith("@teal.asset(schema=")
    [check] = records["checks"]
    assert (check["fields"]["asset"], check["fields"]["severity"]) == ("summary", "warn")


@pytest.mark.parametrize("case", sorted(NEEDS_IMPORT))
def test_a_file_whose_effect_only_running_it_can_tell_is_left_to_the_import(tmp_path, case) -> None:
    path = _write(tmp_path, case, NEEDS_IMPORT[case])
    assert read_declarations(path, path.read_text(encoding="utf-8")) is None


SIMPLE_PY = """
import pyarrow as pa
import polars as pl

import teal

FACTOR = 3


@teal.asset
def tripled(numbers: pl.DataFrame) -> pl.DataFrame:
    return numbers.with_columns(t=pl.col("n") * FACTOR)


@teal.asset_check(asset="tripled")
def tripled_positive(tripled: pa.Table):
    return min(tripled.column("t").to_pylist()) > 0
"""


@pytest.mark.slow
def test_a_cold_load_does_not_run_simple_model_files_and_the_build_does(project) -> None:
    root = project(
        {
            "models/numbers.sql": "select range + 1 as n from range(4)",
            "models/py/tripled.py": SIMPLE_PY,
        }
    )
    module = "teal_project_models.py.tripled"
    sys.modules.pop(module, None)
    p = load_project(root)
    assert module not in sys.modules  # declarations came from the text
    assert p.models["tripled"].upstreams == ("numbers",)
    assert p.models["tripled"].checks == ("tripled_positive",)

    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert "1 passed" in done.stdout or "passed" in done.stdout, done.stdout
    assert query(root / "warehouse.duckdb", "select sum(t) from py.tripled") == [(30,)]


@pytest.mark.slow
def test_an_import_error_in_a_simply_read_file_fails_its_model_with_its_line(project) -> None:
    broken = SIMPLE_PY.replace(
        "import polars as pl", "import polars as pl\nimport no_such_module_x"
    )
    root = project(
        {
            "models/numbers.sql": "select range + 1 as n from range(4)",
            "models/py/tripled.py": broken,
        }
    )
    assert run_teal("plan", cwd=root).returncode == 0  # read from its text: not run yet
    compiled = run_teal("compile", cwd=root)  # compile imports every file to check it
    assert compiled.returncode == 2
    assert "models/py/tripled.py:3:1: importing the model file raised" in compiled.stderr
    validated = run_teal("validate", cwd=root)  # validate imports what a build would
    assert validated.returncode == 2, validated.output
    assert "models/py/tripled.py:3:1: importing the model file raised" in validated.stderr
    # a build fails the model whose file does not import, and builds what does not read it
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert re.search(r"ERROR\s+python\s+py\.tripled", done.stdout), done.stdout
    assert (
        "models/py/tripled.py:3:1: importing the model file raised ModuleNotFoundError"
        in done.output
    )
    assert "Traceback" not in done.output
    assert query(root / "warehouse.duckdb", "select count(*) from main.numbers") == [(4,)]
