"""``@teal.multi_asset``: several assets made by one call of a function (Dagster's
``@multi_asset``), one API call or read yielding several tables. Each output is a model of
its own (relation, state, checks, selection); a build calls the function once for every
output it builds (once per partition), as the calls it counts in a file show."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import teal
from tests.conftest import query, run_teal, write_project

SHOP = """
from pathlib import Path

import pyarrow as pa
import teal

CALLS = Path(__file__).parent.parent / "calls.txt"


@teal.multi_asset(outs={"orders": {"description": "one row per order"}, "customers": None},
                  group="api")
def shop(context) -> dict:
    \"\"\"Orders and customers from one API call.\"\"\"
    with CALLS.open("a") as fh:
        fh.write(f"{context.partition_key}\\n")
    orders = pa.table({"order_id": [1, 2, 3], "customer_id": [10, 10, 11]})
    customers = pa.table({"customer_id": [10, 11], "name": ["ann", "bo"]})
    return {"orders": orders, "customers": teal.Output(customers, metadata={"n": 2})}


@teal.asset_check(asset="orders")
def orders_have_customers(orders: pa.Table) -> bool:
    return orders.num_rows > 0
"""
PER_CUSTOMER = """
select c.name, count(*) as orders
from orders o join customers c using (customer_id)
group by 1 order by 1
"""


def calls(root: Path) -> list[str]:
    path = root / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_one_call_makes_every_output_and_each_is_a_model(tmp_path: Path):
    root = write_project(
        tmp_path / "shop",
        {"models/shop.py": SHOP, "models/per_customer.sql": PER_CUSTOMER},
        'name = "shop"\n',
    )
    built = run_teal("build", "--json", cwd=root)
    assert built.returncode == 0, built.output
    assert calls(root) == ["None"]  # once, for both outputs
    results = {r["model"]: r for r in json.loads(built.stdout)["results"]}
    assert sorted(results) == ["customers", "orders", "per_customer"]
    assert results["customers"]["metadata"] == {"n": 2}
    assert [c["check"] for c in results["orders"]["checks"]] == ["orders_have_customers"]
    warehouse = root / "warehouse.duckdb"
    assert query(warehouse, "select * from per_customer") == [("ann", 2), ("bo", 1)]

    listed = json.loads(run_teal("ls", "--json", cwd=root).stdout)
    described = {m["name"]: (m["description"], m["config"].get("group")) for m in listed}
    assert described["orders"] == ("one row per order", "api")
    assert described["customers"] == ("Orders and customers from one API call.", "api")

    # one output selected: the function runs (once), only that output is written
    one = run_teal("build", "-s", "customers", "--json", cwd=root)
    assert one.returncode == 0, one.output
    assert [r["model"] for r in json.loads(one.stdout)["results"]] == ["customers"]
    assert calls(root) == ["None", "None"]


PARTITIONED = """
import pyarrow as pa
import teal

from pathlib import Path

CALLS = Path(__file__).parent.parent / "calls.txt"


@teal.multi_asset(outs=["visits", "signups"], partitioned_by={"daily": "2026-01-01"},
                  partition_column="day")
def web(context):
    with CALLS.open("a") as fh:
        fh.write(f"{context.partition_key}\\n")
    day = context.partition_window.start.date()
    return pa.table({"day": [day], "n": [1]}), pa.table({"day": [day, day], "n": [2, 3]})
"""


@pytest.mark.slow
def test_a_partitioned_multi_asset_calls_once_per_partition(tmp_path: Path):
    root = write_project(tmp_path / "web", {"models/web.py": PARTITIONED}, 'name = "web"\n')
    built = run_teal("build", "--partition-range", "2026-01-01..2026-01-03", cwd=root)
    assert built.returncode == 0, built.output
    assert sorted(calls(root)) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    warehouse = root / "warehouse.duckdb"
    assert query(warehouse, "select count(*) from visits") == [(3,)]
    assert query(warehouse, "select count(*) from signups") == [(6,)]


WRONG = """
import pyarrow as pa
import teal


@teal.multi_asset(outs=["a", "b"])
def pair():
    return {"a": pa.table({"x": [1]}), "c": pa.table({"x": [2]})}
"""


@pytest.mark.slow
def test_a_call_missing_an_output_fails_both_saying_which(tmp_path: Path):
    root = write_project(tmp_path / "wrong", {"models/pair.py": WRONG}, 'name = "wrong"\n')
    built = run_teal("build", cwd=root)
    assert built.returncode == 1, built.output
    said = (
        "multi_asset 'pair' returned no output 'b'; outputs it does not declare: c (its outs: a, b)"
    )
    assert built.stdout.count(said) >= 2, built.stdout  # each output's failure says it
    assert "Traceback" not in built.output


@teal.multi_asset(outs=["evens", "odds"])
def split(numbers: pl.DataFrame):
    return numbers.filter(pl.col("n") % 2 == 0), numbers.filter(pl.col("n") % 2 == 1)


def test_materialize_takes_a_multi_asset():
    out = teal.materialize([split], inputs={"numbers": pl.DataFrame({"n": [1, 2, 3, 4, 5]})})
    assert out.output_for("evens").column("n").to_pylist() == [2, 4]
    assert out.output_for("odds").column("n").to_pylist() == [1, 3, 5]


def test_a_setting_of_one_output_that_is_the_calls_is_refused():
    with pytest.raises(TypeError, match="shared settings go to multi_asset itself"):
        teal.multi_asset(outs={"a": {"partitioned_by": {"daily": "2026-01-01"}}})
    with pytest.raises(TypeError, match="names an output twice"):
        teal.multi_asset(outs=["a", "a"])


TWICE = """
import teal

@teal.multi_asset(outs=["a", "b"])
@{lower}
def both():
    return {{"a": [1], "b": [2]}}
"""


@pytest.mark.parametrize(
    ("lower", "said"),
    [
        (
            "teal.asset",
            "function 'both' has both @teal.multi_asset and @teal.asset, on lines 3 and 4",
        ),
        (
            'teal.multi_asset(outs=["a", "b"])',
            "@teal.multi_asset is written twice on function 'both'",
        ),
    ],
)
def test_multi_asset_over_another_teal_decorator_is_an_error_at_its_line(
    tmp_path: Path, lower: str, said: str
):
    root = write_project(
        tmp_path / "twice", {"models/m.py": TWICE.format(lower=lower)}, 'name = "t"\n'
    )
    done = run_teal("ls", cwd=root)
    assert done.returncode == 2, done.output
    assert f"models/m.py:4:1: {said}" in done.stderr
    assert "Traceback" not in done.stderr and "TypeError" not in done.stderr


CONFIGURED = """
import pyarrow as pa
import teal


class Size(teal.Config):
    n: int = 3


@teal.multi_asset(outs=["orders", "customers"])
def shop(config: Size):
    return pa.table({"id": list(range(config.n))}), pa.table({"id": list(range(config.n))})
"""


@pytest.mark.slow
def test_run_config_given_to_one_output_is_the_calls(tmp_path: Path):
    root = write_project(tmp_path / "cfg", {"models/shop.py": CONFIGURED}, 'name = "cfg"\n')
    warehouse = root / "warehouse.duckdb"
    given = ["--config-json", '{"orders": {"n": 5}}']
    # the other output alone: built from the one call, with the config given
    one = run_teal("build", "-s", "customers", *given, cwd=root)
    assert one.returncode == 0, one.output
    assert "it is not used" not in one.output
    assert query(warehouse, "select count(*) from customers") == [(5,)]
    both = run_teal("build", "--threads", "2", *given, cwd=root)
    assert both.returncode == 0, both.output
    assert query(
        warehouse, "select count(*) from orders union all select count(*) from customers"
    ) == [(5,), (5,)]

    differ = run_teal(
        "build", "--config-json", '{"orders": {"n": 5}, "customers": {"n": 4}}', cwd=root
    )
    assert differ.returncode == 2, differ.output
    assert "run config of 'orders' differs from that of 'customers'" in differ.output
    by_function = run_teal("build", "--config-json", '{"shop": {"n": 5}}', cwd=root)
    assert by_function.returncode == 2, by_function.output
    assert "'shop' is a multi_asset: its run config goes under one of its outputs" in (
        by_function.output
    )


HELD = """
import gc
import weakref

import pyarrow as pa
import teal

DAILY = {"daily": "2026-01-01"}
SIGNUPS = []  # weak references to the signups each call made


@teal.multi_asset(outs=["visits", "signups"], partitioned_by=DAILY, partition_column="day")
def web(context):
    day = context.partition_window.start.date()
    signups = pa.table({"day": [day], "n": [2]})
    SIGNUPS.append(weakref.ref(signups))
    return pa.table({"day": [day], "n": [1]}), signups


@teal.asset(partitioned_by=DAILY, partition_column="day")
def probe(context, visits: pa.Table) -> pa.Table:
    gc.collect()
    alive = sum(ref() is not None for ref in SIGNUPS)
    return pa.table({"day": [context.partition_window.start.date()], "alive": [alive]})
"""


@pytest.mark.slow
def test_an_output_the_run_does_not_build_is_not_held(tmp_path: Path):
    """-s visits+ builds visits (and what reads it) from calls that also make signups:
    signups' part is dropped at once, not held until the run ends (one per partition)."""
    root = write_project(tmp_path / "held", {"models/web.py": HELD}, 'name = "held"\n')
    built = run_teal(
        "build",
        "-s",
        "visits+",
        "--threads",
        "1",
        "--partition-range",
        "2026-01-01..2026-01-03",
        cwd=root,
    )
    assert built.returncode == 0, built.output
    warehouse = root / "warehouse.duckdb"
    assert query(warehouse, "select max(alive) from probe") == [(0,)]
    assert query(warehouse, "select count(*) from visits") == [(3,)]
