"""dbt unit tests (``unit_tests:``) as teal checks.

The model's SQL is rendered with each ``given`` input (``ref('x')``, ``source('s', 't')``)
replaced by its rows; the check's failing rows are the rows of ``expect`` the result lacks
and the rows of the result (its expected columns) that ``expect`` lacks, so a unit test
passes exactly when both hold the same rows. Rows may be given as ``dict`` (the default),
``csv`` or ``sql``, inline or from a fixture file (``fixture: name``: ``name.csv`` or
``name.sql`` in a ``fixtures`` folder under a test path, as dbt keeps them); ``overrides:
vars:`` set vars for the test's render. The check belongs to the model and runs when it
builds.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.checks import CheckDef
from teal.compiler.dbt.context import Relation
from teal.compiler.errors import ProjectError, did_you_mean

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader, Node
    from teal.compiler.project import Model


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _csv_value(text: str | None) -> Any:
    """A CSV cell as a value: empty or ``null`` is null, whole and decimal numbers are
    numbers (dbt casts given rows to the input's column types; numbers are what compare
    differently as text), anything else text (DuckDB casts it where a date is compared)."""
    if text is None or text.strip() in ("", "null"):
        return None
    value = text.strip()
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d*\.\d+", value):
        return float(value)
    return value


def fixture_files(loader: DbtLoader) -> dict[str, Path]:
    """The project's unit-test fixture files by name: ``.csv`` and ``.sql`` files in a
    ``fixtures`` folder under a test path (dbt's place for them)."""
    found: dict[str, Path] = {}
    project = loader.settings.project
    for folder in project.test_paths:
        base = project.root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix in (".csv", ".sql") and "fixtures" in path.relative_to(base).parts[:-1]:
                found.setdefault(f"{path.stem}{path.suffix}", path)
    return found


def _fixture(spec: Any, fmt: str, display: str, line: int | None, fixtures: dict[str, Path]) -> str:
    """The text of the fixture file a given/expect block names (``fixture: name``)."""
    name = str(spec["fixture"])
    suffix = ".sql" if fmt == "sql" else ".csv"
    path = fixtures.get(name + suffix)
    if path is None:
        known = sorted(k[: -len(suffix)] for k in fixtures if k.endswith(suffix))
        raise ProjectError(
            f"fixture '{name}' ({fmt}) is not a file in tests/fixtures/",
            path=display,
            line=line,
            hint=did_you_mean(name, known)
            or f"add tests/fixtures/{name}{suffix}, or write the rows inline",
        )
    return path.read_text(encoding="utf-8")


def _rows(
    spec: Any, display: str, line: int | None, fixtures: dict[str, Path]
) -> tuple[list[str], str]:
    """(column names, a SELECT giving the rows) of a given/expect block."""
    fmt = str(spec.get("format") or "dict")
    if spec.get("fixture") and fmt not in ("csv", "sql"):
        raise ProjectError(
            "fixture: files are format: csv or format: sql",
            path=display,
            line=line,
            hint="add format: csv",
        )
    rows = _fixture(spec, fmt, display, line, fixtures) if spec.get("fixture") else spec.get("rows")
    if fmt == "sql":
        if not isinstance(rows, str):
            raise ProjectError("format: sql takes rows: as a query", path=display, line=line)
        return [], rows
    if fmt == "csv":
        text = rows if isinstance(rows, str) else ""
        reader = list(csv.DictReader(io.StringIO(text.strip())))
        rows = [{k.strip(): _csv_value(v) for k, v in r.items()} for r in reader]
    if rows is None:
        rows = []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ProjectError(
            "rows: must be a list of mappings (format: dict)", path=display, line=line
        )
    columns: list[str] = []
    for row in rows:
        columns += [str(k) for k in row if str(k) not in columns]
    if not rows:
        return columns, "select 1 where false"
    selects = [
        "select " + ", ".join(f'{_literal(row.get(c))} as "{c}"' for c in columns) for row in rows
    ]
    return columns, "\nunion all by name\n".join(selects)


def unit_test_checks(
    loader: DbtLoader, entry: Any, display: str, models: dict[str, Model], tested: dict[str, Node]
) -> list[CheckDef]:
    """A unit test's checks: one, or one per version of a versioned model (those its
    ``versions: {include: [...], exclude: [...]}`` keep), as dbt runs it on each."""
    model_name = str(entry.get("model") or "")
    versioned = loader.versioned.get(model_name)
    if versioned is None:
        found = unit_test_check(loader, entry, display, models, tested, model_name)
        return [found] if found is not None else []
    chosen = entry.get("versions") or {}
    include = chosen.get("include") if isinstance(chosen, dict) else None
    exclude = [str(v) for v in (chosen.get("exclude") or [])] if isinstance(chosen, dict) else []
    out = []
    for version, teal_name in versioned.names.items():
        if include is not None and version not in [str(v) for v in include]:
            continue
        if version in exclude:
            continue
        found = unit_test_check(loader, entry, display, models, tested, teal_name)
        if found is not None:
            out.append(found)
    return out


def unit_test_check(
    loader: DbtLoader,
    entry: Any,
    display: str,
    models: dict[str, Model],
    tested: dict[str, Node],
    model_name: str,
) -> CheckDef | None:
    line = getattr(entry, "line", None)
    name = str(entry["name"])
    node = tested.get(model_name)
    if node is None or node.resource_type != "model":
        raise ProjectError(
            f"unit test '{name}' tests '{model_name}', which is not a model",
            path=display,
            line=line,
            hint=did_you_mean(
                model_name, [n for n, x in tested.items() if x.resource_type == "model"]
            ),
        )
    if (entry.get("config") or {}).get("enabled") is False:
        return None
    givens: dict[str, str] = {}
    ctes: list[str] = []
    fixtures = fixture_files(loader)
    for i, given in enumerate(entry.get("given") or []):
        target = str(given.get("input") or "").strip()
        _, select = _rows(given, display, getattr(given, "line", line), fixtures)
        cte = f"__unit_given_{i}"
        ctes.append(f"{cte} as (\n{select}\n)")
        givens[re.sub(r"\s+", "", target).replace('"', "'")] = cte
    expect = entry.get("expect") or {}
    columns, expected = _rows(expect, display, getattr(expect, "line", line), fixtures)
    jinja = loader.jinja
    ctx = jinja.context()
    original_ref, original_source = ctx["ref"], ctx["source"]

    def ref(*args: Any, **kwargs: Any) -> Any:
        key = "ref(" + ",".join(f"'{a}'" for a in args) + ")"
        if key in givens:
            return Relation(cte=givens[key])
        return original_ref(*args, **kwargs)

    def source(source_name: str, table_name: str) -> Any:
        key = f"source('{source_name}','{table_name}')"
        if key in givens:
            return Relation(cte=givens[key])
        return original_source(source_name, table_name)

    state = jinja.state
    ctx["ref"], ctx["source"] = ref, source
    overrides = entry.get("overrides") or {}
    loader.var_overrides = dict(overrides.get("vars") or {})  # the test's own vars
    state.node, state.incremental = (
        node,
        bool((entry.get("overrides") or {}).get("macros", {}).get("is_incremental")),
    )
    state.refs, state.sources = [], []
    try:
        sql = jinja.render(node.template, node.display, node.raw).strip()
    finally:
        ctx["ref"], ctx["source"] = original_ref, original_source
        state.node, state.incremental = None, False
        loader.var_overrides = {}
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    query = (
        "with "
        + ",\n".join(
            [*ctes, f"__unit_actual as (\n{sql}\n)", f"__unit_expected as (\n{expected}\n)"]
        )
        + f"\n(select {cols} from __unit_expected except all select {cols} from __unit_actual)"
        + f"\nunion all\n(select {cols} from __unit_actual except all select {cols} from __unit_expected)"
    )
    return CheckDef(
        name=f"{model_name}::{name}",
        asset=model_name,
        kind="unit_test",
        sql=query,
        path=display,
        line=line,
        description=str(entry.get("description") or ""),
        # as written, for the manifest (dbt's unit_tests entries carry them)
        params={
            "given": json.loads(json.dumps(entry.get("given") or [], default=str)),
            "expect": json.loads(json.dumps(expect, default=str)),
        },
    )
