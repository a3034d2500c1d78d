"""Deterministic generator of synthetic teal projects for the benchmark suite (issue 9).

``generate(root, n_models, data='light')`` writes a complete teal project:

- ``teal.toml`` (materialization per folder; no ``threads``, so teal uses every core);
- ``data/{orders,customers,products}.parquet``: three Parquet sources written by DuckDB's
  ``COPY ... TO ... (FORMAT parquet)``; ``light`` = 10,000 rows each, ``heavy`` = 5,000,000
  (``rows=`` overrides both, e.g. 100 for tests); declared in ``models/staging/sources.yml``
  as source ``src`` (type parquet);
- ``models/staging/``: about 15 % of the models, each reading the sources (orders joined
  to customers and products, or customers/products with aggregated orders);
- ``models/intermediate/``: about 65 %: SQL models that join 2-3 upstreams on ``id`` or
  union them (then de-duplicate by ``id`` with ``row_number()``), plus about 5 % of all
  models as Python assets (``@teal.asset``) that take one upstream as ``pyarrow.Table``
  or ``polars.DataFrame`` and return it with a computed column ``py_value``;
- ``models/marts/``: about 20 %: aggregates of 1-2 upstreams by region/category/tier,
  ranked with window functions;
- ``schema.yml`` in each folder: ``checks_per_model`` checks per model (not_null,
  accepted_values, accepted_range) on columns each model has, all of which pass.

Every SQL model has 20-60 lines with CTEs, joins, a window function and CASE. Staging,
intermediate and Python models share one column shape (``id, customer_id, region,
category, status, amount, quantity, event_ts, score, tier``; Python models add
``py_value``), with ``id`` unique per model, so joins stay 1:1 and the data stays at the
size of the sources however deep the graph gets.

Materialization: by default every model is a **table** (``staging='table'``), and the
floor is ``CREATE TABLE ... AS`` for every model: both sides do exactly the same work,
which is the fair comparison. ``staging='view'`` makes staging models views in teal and
``CREATE VIEW`` in the floor.

The floor: ``floor_sql(root)`` returns, in topological order, one statement per model
(``CREATE SCHEMA`` first): the same SQL as the model files, with ``src.<table>``
replaced by ``read_parquet('<root>/data/<table>.parquet')``. A Python model is replaced
by the equivalent SQL ``SELECT *, amount * quantity AS py_value FROM <upstream>`` (what
the Python computes, without the Python). The generator writes both forms itself (the
floor is kept in ``bench_floor.json`` at the project root), so no teal code is involved
in the floor.

Run directly: ``python bench/generate.py DIR --models 50 [--data heavy]``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROWS = {"light": 10_000, "heavy": 5_000_000}
SOURCES = ("orders", "customers", "products")
STD = [
    "id",
    "customer_id",
    "region",
    "category",
    "status",
    "amount",
    "quantity",
    "event_ts",
    "score",
    "tier",
]
STD_COLS = ", ".join(STD)
REGIONS = ["north", "south", "east", "west", "unknown"]
CATEGORIES = ["books", "games", "garden", "tools", "toys", "food", "other"]
STATUSES = ["placed", "shipped", "delivered", "returned", "cancelled"]
TIERS = ["top", "high", "mid", "low"]
POSITIONS = ["leader", "major", "minor"]
FLOOR_FILE = "bench_floor.json"
SRC_TOKEN = "@@SRC:{}@@"


@dataclass
class Model:
    name: str
    folder: str  # staging | intermediate | marts (= schema)
    kind: str  # sql | python
    upstreams: list[str] = field(default_factory=list)
    sql: str = ""  # SQL with @@SRC:table@@ tokens for sources
    python: str = ""  # Python source (python models)
    floor: str = ""  # SELECT for the floor (python models)
    columns: list[str] = field(default_factory=list)
    checks: list[tuple[str, str, dict]] = field(default_factory=list)

    @property
    def relation(self) -> str:
        return f"{self.folder}.{self.name}"


# --------------------------------------------------------------------------- sources

SOURCE_SQL = {
    "orders": """
        select
            range as order_id,
            (range * 7919 + {seed}) % {n} as customer_id,
            (range * 104729 + {seed}) % {n} as product_id,
            timestamp '2025-01-01' + to_seconds(cast((range * 37) % 31536000 as bigint)) as ordered_at,
            cast(1 + range % 9 as integer) as quantity,
            ((range * 13 + {seed}) % 10000) / 100.0 as unit_price,
            ['placed', 'shipped', 'delivered', 'returned', 'cancelled'][1 + (range * 3 + {seed}) % 5] as status,
            case when range % 97 = 0 then null
                 else ['web', 'app', 'store'][1 + (range * 7) % 3] end as channel
        from range({n})""",
    "customers": """
        select
            range as customer_id,
            ['north', 'south', 'east', 'west'][1 + range % 4] as region,
            ['consumer', 'smb', 'enterprise'][1 + (range * 5 + {seed}) % 3] as segment,
            timestamp '2020-01-01' + to_seconds(cast((range * 7927) % 157680000 as bigint)) as signup_at,
            cast(300 + (range * 31 + {seed}) % 551 as integer) as credit_score
        from range({n})""",
    "products": """
        select
            range as product_id,
            ['books', 'games', 'garden', 'tools', 'toys', 'food'][1 + (range + {seed}) % 6] as category,
            ((range * 17) % 50000) / 100.0 as list_price,
            ((range * 11) % 2000) / 100.0 as weight_kg,
            range % 50 as supplier_id,
            timestamp '2018-01-01' + to_seconds(cast((range * 104723) % 252288000 as bigint)) as launched_at
        from range({n})""",
}


def write_sources(root: Path, rows: int, seed: int) -> None:
    import duckdb

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        for table in SOURCES:
            sql = textwrap.dedent(SOURCE_SQL[table]).format(n=rows, seed=seed)
            path = (data / f"{table}.parquet").as_posix()
            con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    finally:
        con.close()


def src(table: str) -> str:
    return SRC_TOKEN.format(table)


# --------------------------------------------------------------------------- staging


def staging_orders(rng: random.Random, name: str) -> str:
    m = rng.randint(5, 13)
    r = rng.randrange(m)
    factor = round(rng.uniform(0.9, 1.1), 3)
    big = rng.choice([300, 400, 500])
    return f"""\
-- {name}: cleaned orders with customer region and product category
with orders as (
    select
        order_id,
        customer_id,
        product_id,
        ordered_at,
        coalesce(quantity, 0) as quantity,
        coalesce(unit_price, 0) as unit_price,
        lower(status) as status,
        coalesce(channel, 'unknown') as channel
    from {src("orders")}
    where order_id % {m} <> {r}
),
customers as (
    select customer_id, region, credit_score
    from {src("customers")}
),
products as (
    select product_id, category, list_price
    from {src("products")}
),
enriched as (
    select
        o.*,
        coalesce(c.region, 'unknown') as region,
        coalesce(p.category, 'other') as category,
        coalesce(c.credit_score, 300) as credit_score,
        row_number() over (partition by o.customer_id order by o.ordered_at, o.order_id) as customer_seq
    from orders as o
    left join customers as c on o.customer_id = c.customer_id
    left join products as p on o.product_id = p.product_id
)
select
    order_id as id,
    customer_id,
    region,
    category,
    status,
    round(quantity * unit_price * {factor}, 2) as amount,
    quantity,
    ordered_at as event_ts,
    least(100.0, greatest(0.0, (credit_score - 300) / 5.5)) as score,
    case
        when quantity * unit_price > {big} then 'top'
        when quantity * unit_price > {big // 2} then 'high'
        when customer_seq = 1 or channel = 'store' then 'mid'
        else 'low'
    end as tier
from enriched
"""


def staging_customers(rng: random.Random, name: str) -> str:
    m = rng.randint(5, 13)
    r = rng.randrange(m)
    return f"""\
-- {name}: customers with their order totals
with customers as (
    select customer_id, region, segment, signup_at, credit_score
    from {src("customers")}
    where customer_id % {m} <> {r}
),
order_totals as (
    select
        o.customer_id,
        count(*) as order_count,
        sum(o.quantity) as units,
        sum(o.quantity * o.unit_price) as revenue,
        arg_max(p.category, o.unit_price) as top_category,
        sum(case when o.status in ('returned', 'cancelled') then 1 else 0 end) as lost
    from {src("orders")} as o
    left join {src("products")} as p on o.product_id = p.product_id
    group by o.customer_id
),
ranked as (
    select
        c.*,
        coalesce(t.order_count, 0) as order_count,
        coalesce(t.units, 0) as units,
        coalesce(t.revenue, 0) as revenue,
        coalesce(t.top_category, 'other') as top_category,
        coalesce(t.lost, 0) as lost,
        ntile(4) over (partition by c.region order by coalesce(t.revenue, 0) desc, c.customer_id) as quartile
    from customers as c
    left join order_totals as t on c.customer_id = t.customer_id
)
select
    customer_id as id,
    customer_id,
    region,
    top_category as category,
    case when order_count = 0 then 'placed' when lost * 2 > order_count then 'returned' else 'delivered' end as status,
    round(revenue, 2) as amount,
    cast(units as integer) as quantity,
    signup_at as event_ts,
    least(100.0, greatest(0.0, (credit_score - 300) / 5.5)) as score,
    case quartile when 1 then 'top' when 2 then 'high' when 3 then 'mid' else 'low' end as tier
from ranked
"""


def staging_products(rng: random.Random, name: str) -> str:
    m = rng.randint(5, 13)
    r = rng.randrange(m)
    return f"""\
-- {name}: products with their sales
with products as (
    select product_id, category, list_price, weight_kg, supplier_id, launched_at
    from {src("products")}
    where product_id % {m} <> {r}
),
sales as (
    select
        product_id,
        count(*) as order_count,
        sum(quantity) as units,
        sum(quantity * unit_price) as revenue
    from {src("orders")}
    where status <> 'cancelled'
    group by product_id
),
joined as (
    select
        p.*,
        coalesce(s.order_count, 0) as order_count,
        coalesce(s.units, 0) as units,
        coalesce(s.revenue, 0) as revenue,
        percent_rank() over (partition by p.category order by p.list_price, p.product_id) as price_rank
    from products as p
    left join sales as s on p.product_id = s.product_id
)
select
    product_id as id,
    supplier_id as customer_id,
    ['north', 'south', 'east', 'west'][1 + supplier_id % 4] as region,
    category,
    case when order_count = 0 then 'placed' when units > 10 then 'delivered' else 'shipped' end as status,
    round(revenue, 2) as amount,
    cast(units as integer) as quantity,
    launched_at as event_ts,
    round(price_rank * 100, 4) as score,
    case
        when price_rank >= 0.9 then 'top'
        when price_rank >= 0.6 then 'high'
        when weight_kg < 5 then 'mid'
        else 'low'
    end as tier
from joined
"""


# --------------------------------------------------------------------------- intermediate


def intermediate_join(rng: random.Random, name: str, ups: list[Model]) -> str:
    a, rest = ups[0], ups[1:]
    aliases = ["b", "c"][: len(rest)]
    ctes = [
        f"""\
a as (
    select {STD_COLS}
    from {a.relation}
    where amount is not null
)"""
    ]
    for alias, up in zip(aliases, rest):
        ctes.append(f"""\
{alias} as (
    select id, amount as {alias}_amount, score as {alias}_score, status as {alias}_status
    from {up.relation}
)""")
    joins = "\n".join(f"    left join {al} on a.id = {al}.id" for al in aliases)
    picked = ", ".join(f"{al}.{al}_amount, {al}.{al}_score, {al}.{al}_status" for al in aliases)
    extra_amount = " + ".join(f"coalesce({al}_amount, 0)" for al in aliases)
    scores = " + ".join(["score"] + [f"coalesce({al}_score, score)" for al in aliases])
    weight = round(rng.uniform(0.05, 0.2), 3)
    top_n = rng.choice([5, 10, 20])
    high = rng.choice([200, 500, 1000])
    return f"""\
-- {name}: {a.name} joined with {", ".join(u.name for u in rest)}
with {("," + chr(10)).join(ctes)},
joined as (
    select a.*, {picked}
    from a
{joins}
),
ranked as (
    select
        *,
        row_number() over (partition by region order by amount desc, id) as region_rank,
        sum(amount) over (partition by customer_id) as customer_amount
    from joined
)
select
    id,
    customer_id,
    region,
    category,
    case
        when {aliases[0]}_status = 'cancelled' then 'cancelled'
        when {aliases[0]}_status is null then status
        else {aliases[0]}_status
    end as status,
    round(amount + ({extra_amount}) * {weight}, 2) as amount,
    quantity,
    event_ts,
    ({scores}) / {len(aliases) + 1} as score,
    case
        when region_rank <= {top_n} then 'top'
        when customer_amount > {high} then 'high'
        else tier
    end as tier
from ranked
"""


def intermediate_union(rng: random.Random, name: str, ups: list[Model]) -> str:
    parts = "\n    union all\n".join(
        f"    select {STD_COLS}, {i} as src_rank\n    from {u.relation}" for i, u in enumerate(ups)
    )
    cutoff = rng.choice(["2024-06-01", "2025-01-01", "2025-03-01"])
    return f"""\
-- {name}: union of {", ".join(u.name for u in ups)}, one row per id
with unioned as (
{parts}
),
deduped as (
    select
        *,
        row_number() over (partition by id order by event_ts desc, src_rank) as rn,
        count(*) over (partition by id) as copies
    from unioned
)
select
    id,
    customer_id,
    region,
    category,
    status,
    amount,
    quantity,
    event_ts,
    score,
    case
        when copies > 1 and tier = 'low' then 'mid'
        when event_ts < timestamp '{cutoff}' and tier = 'top' then 'high'
        else tier
    end as tier
from deduped
where rn = 1
"""


def python_model(rng: random.Random, name: str, up: Model) -> tuple[str, str]:
    if rng.random() < 0.5:
        code = f'''\
"""{name}: {up.name} with a computed column, in Polars."""

import polars as pl

import teal


@teal.asset
def {name}({up.name}: pl.DataFrame) -> pl.DataFrame:
    return {up.name}.with_columns((pl.col("amount") * pl.col("quantity")).alias("py_value"))
'''
    else:
        code = f'''\
"""{name}: {up.name} with a computed column, in PyArrow."""

import pyarrow as pa
import pyarrow.compute as pc

import teal


@teal.asset
def {name}({up.name}: pa.Table) -> pa.Table:
    value = pc.multiply(pc.cast({up.name}["amount"], pa.float64()),
                        pc.cast({up.name}["quantity"], pa.float64()))
    return {up.name}.append_column("py_value", value)
'''
    floor = f"select *, amount * quantity as py_value from {up.relation}"
    return code, floor


# --------------------------------------------------------------------------- marts


def mart(rng: random.Random, name: str, ups: list[Model]) -> str:
    base = "\n    union all\n".join(
        f"    select region, category, tier, status, amount, quantity, score, event_ts\n"
        f"    from {u.relation}"
        for u in ups
    )
    share = rng.choice([0.1, 0.15, 0.2])
    return f"""\
-- {name}: revenue by region, category and tier from {", ".join(u.name for u in ups)}
with base as (
{base}
),
by_group as (
    select
        region,
        category,
        tier,
        count(*) as orders,
        sum(amount) as revenue,
        sum(quantity) as units,
        avg(score) as avg_score,
        sum(case when status in ('returned', 'cancelled') then 1 else 0 end) as lost,
        max(event_ts) as last_event_at
    from base
    group by region, category, tier
),
ranked as (
    select
        *,
        rank() over (partition by region order by revenue desc, category, tier) as revenue_rank,
        revenue / nullif(sum(revenue) over (partition by region), 0) as region_share
    from by_group
)
select
    region,
    category,
    tier,
    orders,
    revenue,
    units,
    round(avg_score, 2) as avg_score,
    lost,
    last_event_at,
    revenue_rank,
    region_share,
    case
        when revenue_rank = 1 then 'leader'
        when region_share > {share} then 'major'
        else 'minor'
    end as position
from ranked
"""


# --------------------------------------------------------------------------- checks

STD_CHECKS = [
    ("id", "not_null", {}),
    ("region", "not_null", {}),
    ("region", "accepted_values", {"values": REGIONS}),
    ("category", "accepted_values", {"values": CATEGORIES}),
    ("status", "accepted_values", {"values": STATUSES}),
    ("tier", "accepted_values", {"values": TIERS}),
    ("score", "accepted_range", {"min_value": 0, "max_value": 100}),
    ("amount", "accepted_range", {"min_value": 0}),
    ("quantity", "accepted_range", {"min_value": 0}),
]
MART_CHECKS = [
    ("region", "not_null", {}),
    ("category", "not_null", {}),
    ("position", "accepted_values", {"values": POSITIONS}),
    ("orders", "accepted_range", {"min_value": 1}),
    ("tier", "accepted_values", {"values": TIERS}),
]
MART_COLUMNS = [
    "region",
    "category",
    "tier",
    "orders",
    "revenue",
    "units",
    "avg_score",
    "lost",
    "last_event_at",
    "revenue_rank",
    "region_share",
    "position",
]


def pick_checks(rng: random.Random, pool: list, k: int) -> list:
    return rng.sample(pool, min(k, len(pool)))


# --------------------------------------------------------------------------- the plan


def layer_sizes(n: int, python_share: float) -> tuple[int, int, int, int]:
    """(staging, intermediate SQL, python, marts) adding up to n."""
    if n < 5:
        raise ValueError("n_models must be at least 5")
    n_stg = max(3, round(n * 0.15))
    n_mart = max(1, round(n * 0.20))
    n_py = max(1, round(n * python_share)) if python_share > 0 else 0
    n_int = n - n_stg - n_mart - n_py
    if n_int < 1:
        raise ValueError(f"n_models={n} is too small for the layers")
    return n_stg, n_int, n_py, n_mart


def plan_models(
    n_models: int, python_share: float, checks_per_model: int, seed: int
) -> list[Model]:
    rng = random.Random(seed)
    n_stg, n_int, n_py, n_mart = layer_sizes(n_models, python_share)
    models: list[Model] = []
    idx = 0

    def next_name(prefix: str) -> str:
        nonlocal idx
        idx += 1
        return f"{prefix}_{idx:05d}"

    for i in range(n_stg):
        table = SOURCES[i % 3]
        name = next_name(f"stg_{table}")
        body = {
            "orders": staging_orders,
            "customers": staging_customers,
            "products": staging_products,
        }[table](rng, name)
        models.append(
            Model(
                name,
                "staging",
                "sql",
                [],
                body,
                columns=list(STD),
                checks=pick_checks(rng, STD_CHECKS, checks_per_model),
            )
        )

    # intermediate: SQL joins/unions and Python models, interleaved
    kinds = ["sql"] * n_int + ["python"] * n_py
    rng.shuffle(kinds)
    consumed: set[str] = set()
    for kind in kinds:
        pool = [m for m in models if m.folder in ("staging", "intermediate")]

        def pick(k: int, pool: list[Model] = pool) -> list[Model]:
            chosen: list[Model] = []
            while len(chosen) < k:
                # half from the 20 most recent models (depth), half from anywhere (width)
                cand = rng.choice(pool[-20:]) if rng.random() < 0.5 else rng.choice(pool)
                if cand not in chosen:
                    chosen.append(cand)
            return chosen

        if kind == "python":
            (up,) = pick(1)
            name = next_name("py")
            code, floor = python_model(rng, name, up)
            models.append(
                Model(
                    name,
                    "intermediate",
                    "python",
                    [up.name],
                    python=code,
                    floor=floor,
                    columns=list(STD) + ["py_value"],
                    checks=pick_checks(rng, STD_CHECKS, checks_per_model),
                )
            )
            consumed.add(up.name)
            continue
        k = min(len(pool), rng.choice([2, 2, 3]))
        ups = pick(k)
        name = next_name("int")
        if rng.random() < 0.7 or k < 2:
            body = (
                intermediate_join(rng, name, ups) if k >= 2 else intermediate_union(rng, name, ups)
            )
        else:
            body = intermediate_union(rng, name, ups)
        consumed.update(u.name for u in ups)
        models.append(
            Model(
                name,
                "intermediate",
                "sql",
                [u.name for u in ups],
                body,
                columns=list(STD),
                checks=pick_checks(rng, STD_CHECKS, checks_per_model),
            )
        )

    inter = [m for m in models if m.folder == "intermediate"]
    for _ in range(n_mart):
        leaves = [m for m in inter if m.name not in consumed]
        k = rng.choice([1, 2])
        ups: list[Model] = []
        while len(ups) < k:
            source = leaves if leaves and rng.random() < 0.7 else inter
            cand = rng.choice(source)
            if cand not in ups:
                ups.append(cand)
            if cand in leaves:
                leaves.remove(cand)
            if len(ups) >= len(inter):
                break
        consumed.update(u.name for u in ups)
        name = next_name("mart")
        models.append(
            Model(
                name,
                "marts",
                "sql",
                [u.name for u in ups],
                mart(rng, name, ups),
                columns=list(MART_COLUMNS),
                checks=pick_checks(rng, MART_CHECKS, checks_per_model),
            )
        )
    return models


# --------------------------------------------------------------------------- writing


def teal_sql(sql: str) -> str:
    for table in SOURCES:
        sql = sql.replace(src(table), f"src.{table}")
    return sql


def schema_yaml(models: list[Model]) -> str:
    import yaml

    entries = []
    for m in models:
        by_col: dict[str, list] = {}
        for col, kind, params in m.checks:
            # copies, so that yaml writes every list out instead of anchors and aliases
            by_col.setdefault(col, []).append(
                {kind: json.loads(json.dumps(params))} if params else kind
            )
        entries.append(
            {"name": m.name, "columns": [{"name": c, "tests": t} for c, t in by_col.items()]}
        )
    return yaml.safe_dump({"version": 2, "models": entries}, sort_keys=False)


def generate(
    root: str | Path,
    n_models: int,
    data: str = "light",
    python_share: float = 0.05,
    checks_per_model: int = 2,
    seed: int = 0,
    rows: int | None = None,
    staging: str = "table",
) -> Path:
    """Write a synthetic teal project of ``n_models`` models into ``root`` (replaced)."""
    if data not in ROWS:
        raise ValueError(f"data must be one of {sorted(ROWS)}")
    if staging not in ("table", "view"):
        raise ValueError("staging must be 'table' or 'view'")
    root = Path(root).resolve()
    if root.exists():
        shutil.rmtree(root)
    (root / "models").mkdir(parents=True)
    n_rows = rows if rows is not None else ROWS[data]
    models = plan_models(n_models, python_share, checks_per_model, seed)

    (root / "teal.toml").write_text(
        textwrap.dedent(f"""\
        # generated by bench/generate.py: {n_models} models, data={data} ({n_rows:,} rows per source), seed={seed}
        name = "bench"
        models = "models"
        warehouse = "warehouse.duckdb"

        [defaults]
        materialized = "table"

        [folders.staging]
        materialized = "{staging}"

        [folders.intermediate]
        materialized = "table"

        [folders.marts]
        materialized = "table"
        """),
        encoding="utf-8",
    )
    write_sources(root, n_rows, seed)
    for folder in ("staging", "intermediate", "marts"):
        (root / "models" / folder).mkdir()
    (root / "models" / "staging" / "sources.yml").write_text(
        textwrap.dedent("""\
        sources:
          - name: src
            type: parquet
            path: ../../data/{table}.parquet
            tables:
              - name: orders
              - name: customers
              - name: products
        """),
        encoding="utf-8",
    )
    for m in models:
        folder = root / "models" / m.folder
        if m.kind == "python":
            (folder / f"{m.name}.py").write_text(m.python, encoding="utf-8")
        else:
            (folder / f"{m.name}.sql").write_text(teal_sql(m.sql), encoding="utf-8")
    if checks_per_model > 0:
        for folder in ("staging", "intermediate", "marts"):
            chosen = [m for m in models if m.folder == folder]
            (root / "models" / folder / "schema.yml").write_text(
                schema_yaml(chosen), encoding="utf-8"
            )

    floor = []
    for m in models:  # already in topological order: upstreams are always earlier
        create = "view" if (m.folder == "staging" and staging == "view") else "table"
        body = m.floor if m.kind == "python" else m.sql
        floor.append(
            {
                "model": m.name,
                "relation": m.relation,
                "kind": m.kind,
                "create": create,
                "upstreams": m.upstreams,
                "sql": body.strip(),
            }
        )
    meta = {
        "n_models": n_models,
        "data": data,
        "rows": n_rows,
        "seed": seed,
        "python_share": python_share,
        "checks_per_model": checks_per_model,
        "staging": staging,
        "checks": sum(len(m.checks) for m in models),
        "layers": dict(
            zip(
                ("staging", "intermediate_sql", "python", "marts"),
                layer_sizes(n_models, python_share),
            )
        ),
        "models": floor,
    }
    (root / FLOOR_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return root


def project_info(root: str | Path) -> dict:
    """What generate() recorded about the project (sizes, models in topological order)."""
    return json.loads((Path(root) / FLOOR_FILE).read_text(encoding="utf-8"))


def floor_sql(root: str | Path) -> list[str]:
    """The project's models as plain DuckDB statements in topological order.

    ``CREATE SCHEMA`` for each schema, then ``CREATE TABLE <schema>.<name> AS <sql>`` (or
    ``CREATE VIEW`` for staging when generated with ``staging='view'``), sources read with
    ``read_parquet`` and Python models replaced by their SQL equivalent.
    """
    root = Path(root).resolve()
    info = project_info(root)
    stmts = [f"create schema if not exists {s}" for s in ("staging", "intermediate", "marts")]
    for m in info["models"]:
        sql = m["sql"]
        for table in SOURCES:
            path = (root / "data" / f"{table}.parquet").as_posix()
            sql = sql.replace(src(table), f"read_parquet('{path}')")
        stmts.append(f"create {m['create']} {m['relation']} as\n{sql}")
    return stmts


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate a synthetic teal project.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--data", choices=sorted(ROWS), default="light")
    parser.add_argument(
        "--rows", type=int, default=None, help="Rows per source (overrides --data)."
    )
    parser.add_argument("--python-share", type=float, default=0.05)
    parser.add_argument("--checks-per-model", type=int, default=2)
    parser.add_argument("--staging", choices=["table", "view"], default="table")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = generate(
        args.root,
        args.models,
        data=args.data,
        python_share=args.python_share,
        checks_per_model=args.checks_per_model,
        seed=args.seed,
        rows=args.rows,
        staging=args.staging,
    )
    info = project_info(root)
    print(
        f"wrote {root}: {info['n_models']} models {info['layers']}, {info['checks']} checks, "
        f"{info['rows']:,} rows per source"
    )


if __name__ == "__main__":
    main()
