"""``teal init``: a new project that builds as it is, to start from.

dbt users start with ``dbt init`` and Dagster users with ``dagster project scaffold``; both
get a folder that runs before they write anything. ``teal init`` writes a small project of
the same kind: a CSV source, a staging view that makes its money a DECIMAL, a mart table, a
Python asset, checks in YAML and a daily schedule, each file saying what it shows. It
refuses to write over anything: a folder that already holds a project (a dbt one too), a
folder inside another project's models folder, or any file it would write, is an error
naming it, and nothing is written (a write that fails takes back what it wrote); only a
``.gitignore`` already there (a repository's) is kept as it is, and the lines teal's would
add are said.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import unicodedata
from pathlib import Path

import click

from teal.cli_support import handle_errors
from teal.compiler.errors import ProjectError

PROJECT_FILE = """\
# The project file (docs/projects.md). Every key is optional.
name = {name}
warehouse = "warehouse.duckdb"   # the DuckDB file teal builds

[folders.marts]                  # models under models/marts/ are tables; the rest views
materialized = "table"

# What runs unattended: `teal daemon` (docs/automation.md)
[jobs.daily]
select = "marts+"
description = "the marts and what reads them"

[schedules.daily]
job = "daily"
cron = "0 6 * * *"
timezone = "UTC"
"""

SOURCES = """\
# Tables teal reads but does not build: SQL models read them as raw.orders.
sources:
  - name: raw
    type: csv
    path: ../data/{table}.csv   # relative to this file
    tables:
      - name: orders
        description: One row per order, as the shop exports it.
"""

ORDERS_CSV = """\
order_id,customer_id,ordered_at,amount,status
1,101,2026-01-05 09:12:00,19.90,completed
2,102,2026-01-05 11:40:00,5.00,completed
3,101,2026-01-06 08:03:00,42.50,cancelled
4,103,2026-01-06 16:25:00,12.75,completed
5,104,2026-01-07 10:10:00,99.99,completed
6,102,2026-01-07 13:45:00,7.25,completed
7,105,2026-01-08 18:30:00,64.00,completed
8,103,2026-01-08 19:05:00,3.10,cancelled
"""

STAGING = """\
-- One row per order. No ref() needed: teal reads the lineage out of the SQL.
-- Money is a DECIMAL, never a DOUBLE (a CSV's amounts are read as DOUBLE).
select
    order_id,
    customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    cast(ordered_at as date) as order_date,
    cast(amount as decimal(12, 2)) as amount,
    status
from raw.orders
"""

DAILY_REVENUE = """\
-- Completed orders per day: a table (teal.toml makes models/marts/ tables).
select
    order_date,
    count(*) as orders,
    sum(amount) as revenue
from stg_orders
where status = 'completed'
group by order_date
"""

TOP_CUSTOMERS = '''\
"""A Python asset: its parameter names the model it reads, passed as a Polars frame."""

import polars as pl

import teal


@teal.asset
def top_customers(context: teal.AssetContext, stg_orders: pl.DataFrame) -> pl.DataFrame:
    """Customers by what their completed orders came to, highest first."""
    completed = stg_orders.filter(pl.col("status") == "completed")
    context.log.info("%d completed orders", completed.height)
    return (
        completed.group_by("customer_id")
        .agg(pl.col("amount").sum().alias("spent"), pl.len().cast(pl.Int64).alias("orders"))
        .sort(["spent", "customer_id"], descending=[True, False])
    )
'''

SCHEMA = """\
# Checks run as each model is built; a failing one keeps what reads the model from
# building (docs/checks.md). dbt's `tests:` and `data_tests:` work too.
models:
  - name: stg_orders
    description: One row per order, with its calendar date.
    columns:
      - name: order_id
        checks: [not_null, unique]
      - name: status
        checks:
          - accepted_values: {values: [completed, cancelled]}
  - name: daily_revenue
    columns:
      - name: order_date
        checks: [not_null, unique]
  - name: top_customers
    columns:
      - name: customer_id
        checks: [unique]
"""

GITIGNORE = """\
# what teal builds and keeps: the warehouse, its caches and run history, compiled SQL
warehouse.duckdb*
.teal/
target/
"""

# what `teal init` writes, relative to the project folder, in the order it prints them
FILES: dict[str, str] = {
    "teal.toml": PROJECT_FILE,
    "data/orders.csv": ORDERS_CSV,
    "models/sources.yml": SOURCES,
    "models/staging/stg_orders.sql": STAGING,
    "models/marts/daily_revenue.sql": DAILY_REVENUE,
    "models/marts/top_customers.py": TOP_CUSTOMERS,
    "models/schema.yml": SCHEMA,
    ".gitignore": GITIGNORE,
}
GITIGNORE_FILE = ".gitignore"


def project_name(folder: Path, name: str | None) -> str:
    """The project's name: ``name``, or the folder's, made a plain identifier."""
    if name is not None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ProjectError(
                f"project name {name!r} is not a plain identifier",
                path="--name",
                hint="letters, digits and underscores, not starting with a digit",
            )
        return name
    # accents dropped rather than the letters: "café" is cafe, not caf
    plain = unicodedata.normalize("NFKD", folder.name).encode("ascii", "ignore").decode()
    made = re.sub(r"[^A-Za-z0-9_]+", "_", plain).strip("_").lower()
    return made if made and not made[0].isdigit() else f"project_{made}".rstrip("_")


def existing_project(folder: Path) -> Path | None:
    """The project file already in ``folder``: teal.toml, a pyproject.toml with teal's, or a
    dbt project's dbt_project.yml (a teal.toml beside it would take its place)."""
    for name in ("teal.toml", "dbt_project.yml"):
        if (folder / name).exists():
            return folder / name
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and "[tool.teal" in pyproject.read_text(errors="replace"):
        return pyproject
    return None


def write_project(folder: Path, name: str) -> list[str]:
    """Write the new project's files into ``folder`` (nothing when any of them but a
    ``.gitignore`` exists); the ones written."""
    found = existing_project(folder)
    if found is not None:
        kind = "dbt" if found.name == "dbt_project.yml" else "teal"
        raise ProjectError(
            f"a {kind} project is already here",
            path=str(found),
            hint="`teal build` builds it; `teal init OTHER_FOLDER` starts a new one there",
        )
    enclosing = enclosing_models(folder)
    if enclosing is not None:
        root, models = enclosing
        raise ProjectError(
            f"the project at {root} reads every file under {models} as its own models, "
            "this folder's too",
            path=str(folder),
            hint=f"start the new project outside {models}",
        )
    # a repository's own .gitignore is kept (the command says what to add to it)
    taken = [rel for rel in FILES if _occupied(folder, rel) and rel != GITIGNORE_FILE]
    if taken:
        raise ProjectError(
            "this file already exists; teal init writes over nothing",
            path=str(_occupied(folder, taken[0])),
            hint="start the project in an empty folder: `teal init NEW_FOLDER`",
        )
    written: list[str] = []
    made: list[Path] = []  # the folders it created, removed again if a write fails
    try:
        for rel, text in FILES.items():
            target = folder / rel
            if target.exists():  # only .gitignore gets here
                continue
            for parent in reversed(target.parents):
                if not parent.exists():
                    parent.mkdir()
                    made.append(parent)
            body = text.format(name=json.dumps(name)) if rel == "teal.toml" else text
            target.write_text(body, encoding="utf-8")
            written.append(rel)
    except OSError as exc:  # a read-only folder, a full disk: what it wrote is removed
        for rel in written:
            (folder / rel).unlink(missing_ok=True)
        for created in reversed(made):
            with contextlib.suppress(OSError):
                created.rmdir()
        raise ProjectError(
            f"cannot write the project: {exc.strerror or exc}",
            path=str(exc.filename or folder),
            hint="nothing was written; choose a folder you can write to",
        ) from exc
    return written


def _occupied(folder: Path, rel: str) -> Path | None:
    """What is already where ``rel`` goes in ``folder``: the file itself, or a file where
    one of its folders would be."""
    target = folder / rel
    if target.exists():
        return target
    for parent in target.parents[: len(Path(rel).parents) - 1]:
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def enclosing_models(folder: Path) -> tuple[Path, Path] | None:
    """A project above ``folder`` and its models folder, when ``folder`` is in that folder
    (its files would be that project's models)."""
    from teal.compiler.config import find_project, load_config
    from teal.compiler.errors import TealError

    start = next((p for p in folder.parents if p.is_dir()), None)
    if start is None:
        return None
    try:
        root = find_project(start)
    except TealError:
        return None
    try:
        models = load_config(root).models_dir
    except TealError:  # a project that does not load reads its models where teal's do
        models = root / "models"
    models = models.resolve()
    return (root, models) if folder == models or models in folder.parents else None


def gitignore_missing(folder: Path) -> list[str]:
    """The lines of teal's .gitignore that ``folder``'s own .gitignore lacks."""
    have = set((folder / GITIGNORE_FILE).read_text(errors="replace").splitlines())
    wanted = [line for line in GITIGNORE.splitlines() if line and not line.startswith("#")]
    return [line for line in wanted if line not in have]


@click.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="The project's name (default: the folder's name).")
@handle_errors
def init(folder: Path, name: str | None) -> None:
    """Start a new project in FOLDER (default: here): a CSV source, SQL and Python models,
    checks and a schedule, ready for `teal build`. Nothing is written over."""
    folder = folder.resolve()
    chosen = project_name(folder, name)
    written = write_project(folder, chosen)
    click.echo(f"Created project {chosen!r} in {folder}:")
    for rel in written:
        click.echo(f"  {rel}")
    missing = [] if GITIGNORE_FILE in written else gitignore_missing(folder)
    if missing:
        lines = ", ".join(missing)
        click.echo(f"Your .gitignore is kept; teal's files to add to it: {lines}")
    here = Path.cwd().resolve()
    go = "" if folder == here else f"cd {_shown(folder, here)} && "
    click.echo(f"Next: {go}teal build   (then `teal runs show last`, `teal ui`)")


def _shown(folder: Path, here: Path) -> str:
    """``folder`` as the user would type it from ``here``."""
    try:
        shown = str(folder.relative_to(here))
    except ValueError:
        shown = str(folder)
    return shlex.quote(shown)  # a folder named with a space still pastes as one
