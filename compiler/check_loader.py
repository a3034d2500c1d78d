"""Collect a project's checks: YAML tests, singular SQL checks, Python checks, custom generics.

Runs after the models are compiled (checks need their relations and, to validate column
names, their output columns). Everything is resolved to SQL over the placeholder relation
``compiler.checks.TARGET``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from teal.compiler.checks import (
    BUILTINS,
    TARGET,
    CheckDef,
    builtin_check,
    check_name,
    check_params_at,
    normalize_test_entry,
    unknown_check_keys,
)
from teal.compiler.errors import ParseError, ProjectError, TealError, did_you_mean, raise_all

TEST_KEYS = ("tests", "data_tests", "checks")
_TEST_MACRO = re.compile(r"\{%-?\s*test\s+(\w+)\s*\(", re.S)


_NAME_A_MODEL = "a check is of a model of the project: `teal ls` lists them"


def collect_checks(
    *,
    root: Path,
    models: dict[str, Any],
    properties: dict[str, Any],
    python_checks: list[tuple[Any, str]],
    check_dirs: list[Path],
    vars: dict[str, Any],
    display: Any,
) -> dict[str, CheckDef]:
    """Every check of the project by name; problems are reported together."""
    errors: list[TealError] = []
    checks: dict[str, CheckDef] = {}
    generics = _generic_macros(check_dirs, display)

    def add(check: CheckDef) -> None:
        if check.name in checks:
            other = checks[check.name]
            errors.append(
                ProjectError(
                    f"two checks are named '{check.name}' ({other.path}:{other.line} and here)",
                    path=check.path,
                    line=check.line,
                    hint="give one of them a name: {name: ...}",
                )
            )
            return
        checks[check.name] = check

    def relation_of(name: str) -> str:
        if name not in models:
            raise ProjectError(f"'{name}' is not a model", hint=did_you_mean(name, models))
        m = models[name]
        return f'"{m.schema}"."{m.alias}"'

    for model_name, (spec, path) in properties.items():
        if model_name not in models:
            continue
        model = models[model_name]
        columns_tested = any(
            isinstance(c, dict) and any(c.get(k) for k in TEST_KEYS)
            for c in spec.get("columns") or []
        )
        known = set(model.columns) if columns_tested and model.columns is not None else None
        entries: list[tuple[Any, str | None, int | None]] = []
        for key in TEST_KEYS:
            for i, entry in enumerate(spec.get(key) or []):
                entries.append(
                    (entry, None, _item_line(spec.get(key), i) or getattr(spec, "line", None))
                )
        for column in spec.get("columns") or []:
            if not isinstance(column, dict) or not column.get("name"):
                errors.append(
                    ProjectError(
                        "every column needs a name", path=path, line=getattr(column, "line", None)
                    )
                )
                continue
            col_name = str(column["name"])
            col_line = getattr(column, "line", None)
            has_tests = any(column.get(k) for k in TEST_KEYS)
            if known is not None and has_tests and col_name.lower() not in known:
                errors.append(
                    ProjectError(
                        f"model '{model_name}' has no column '{col_name}'",
                        path=path,
                        line=col_line,
                        hint=_missing_column_hint(col_name, model, models, known),
                    )
                )
                continue
            for key in TEST_KEYS:
                for i, entry in enumerate(column.get(key) or []):
                    entries.append((entry, col_name, _item_line(column.get(key), i) or col_line))
        for entry, tested_column, line in entries:
            try:
                kind, params, options = normalize_test_entry(entry)
            except ValueError as exc:
                errors.append(ProjectError(str(exc), path=path, line=line))
                continue
            if options.get("enabled") is False:
                continue
            unknown = unknown_check_keys(kind, params, options) if kind in BUILTINS else []
            if unknown:
                errors += [ProjectError(m, path=path, line=line, hint=h) for m, h in unknown]
                continue
            try:
                if kind in BUILTINS:
                    add(
                        builtin_check(
                            kind,
                            asset=model_name,
                            column=tested_column,
                            params=params,
                            options=options,
                            path=path,
                            line=line,
                            relation_of=relation_of,
                            params_at=check_params_at(entry),
                        )
                    )
                elif kind in generics:
                    add(
                        _generic_check(
                            kind,
                            generics[kind],
                            model_name,
                            tested_column,
                            params,
                            options,
                            path,
                            line,
                            vars,
                            models,
                        )
                    )
                else:
                    errors.append(
                        ProjectError(
                            f"unknown check '{kind}'",
                            path=path,
                            line=line,
                            hint=did_you_mean(kind, [*BUILTINS, *generics])
                            or "built-in checks: " + ", ".join(BUILTINS),
                        )
                    )
            except TealError as exc:
                errors.append(exc)

    for folder in check_dirs:
        if not folder.is_dir():
            continue
        for sql_file in sorted(folder.rglob("*.sql")):
            if "generic" in sql_file.relative_to(folder).parts or _TEST_MACRO.search(
                sql_file.read_text(encoding="utf-8")
            ):
                continue
            try:
                add(_singular_check(sql_file, display(sql_file), models, vars))
            except TealError as exc:
                errors.append(exc)

    for definition, path in python_checks:
        if definition.asset not in models:
            errors.append(
                ProjectError(
                    f"check '{definition.name}' is of asset '{definition.asset}', which is not a model",
                    path=path,
                    line=definition.source_line,
                    hint=did_you_mean(definition.asset, models) or _NAME_A_MODEL,
                )
            )
            continue
        for param in definition.upstream_params:
            if param not in models:
                errors.append(
                    ProjectError(
                        f"parameter '{param}' of check '{definition.name}' is not a model",
                        path=path,
                        line=definition.source_line,
                        hint=did_you_mean(param, models) or _NAME_A_MODEL,
                    )
                )
        if str(definition.severity).lower() not in ("error", "warn"):
            errors.append(
                ProjectError(
                    f"check '{definition.name}': severity must be error or warn, got "
                    f"{definition.severity!r}",
                    path=path,
                    line=definition.source_line,
                    hint=did_you_mean(str(definition.severity).lower(), ("error", "warn"))
                    or "severity='warn' reports a failure without blocking what is downstream",
                )
            )
            continue
        add(
            CheckDef(
                name=definition.name,
                asset=definition.asset,
                kind="python",
                severity=str(definition.severity).lower(),
                path=path,
                line=definition.source_line,
                python=definition,
                reads=tuple(p for p in definition.upstream_params if p != definition.asset),
                description=definition.description,
            )
        )
    raise_all(errors)
    return checks


def _item_line(items: Any, i: int) -> int | None:
    """The YAML line of ``items[i]`` (a check entry), when the loader recorded it."""
    lines = getattr(items, "lines", None) or []
    return lines[i] if i < len(lines) else getattr(items[i], "line", None)


def _generic_macros(check_dirs: list[Path], display: Any) -> dict[str, tuple[str, str]]:
    """``{% test name(model, column_name, ...) %}`` blocks -> {name: (source, path)}."""
    found: dict[str, tuple[str, str]] = {}
    for folder in check_dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.sql")):
            text = path.read_text(encoding="utf-8")
            for m in _TEST_MACRO.finditer(text):
                found[m.group(1)] = (text, display(path))
    return found


def _render(source: str, path: str, vars: dict[str, Any], extra: dict[str, Any]) -> Any:
    from teal.compiler.templating import render_sql

    return render_sql(source, path=path, this_name="check", vars=vars, extra_context=extra)


def _generic_check(
    kind: str,
    macro: tuple[str, str],
    asset: str,
    column: str | None,
    params: dict[str, Any],
    options: dict[str, Any],
    path: str,
    line: int | None,
    vars: dict[str, Any],
    models: dict[str, Any],
) -> CheckDef:
    source, macro_path = macro
    as_macros = re.sub(r"\{%(-?)\s*test\s+(\w+)\s*\(", r"{%\1 macro test_\2(", source)
    as_macros = re.sub(r"\{%(-?)\s*endtest\s*(-?)%\}", r"{%\1 endmacro \2%}", as_macros)
    args = {"model": TARGET, **({"column_name": column} if column else {}), **params}
    call = "{{ test_" + kind + "(" + ", ".join(f"{k}=__args[{k!r}]" for k in args) + ") }}"
    rendered = _render(as_macros + "\n" + call, macro_path, vars, {"__args": args})
    sql = _resolve_sql(rendered.sql.strip(), macro_path, models, keep=None)
    from teal.compiler.checks import _severity, _threshold, fail_calc_of

    # the macro's config() calls (a fail_calc, say), the check's own options over them
    options = {**rendered.config, **options}

    def fail(message: str, hint: str | None = None) -> ProjectError:
        return ProjectError(f"check {kind} of {asset}: {message}", path=path, line=line, hint=hint)

    return CheckDef(
        name=str(options.get("name") or check_name(kind, asset, column, {})),
        asset=asset,
        kind=kind,
        column=column,
        params=dict(params),
        severity=_severity(options.get("severity", "error"), fail),
        where=options.get("where"),
        warn_if=_threshold(options.get("warn_if", ">0"), fail),
        error_if=_threshold(options.get("error_if", ">0"), fail),
        fail_calc=fail_calc_of(options.get("fail_calc"), fail),
        sql=_scoped(sql, options.get("where")),
        store_failures=bool(options.get("store_failures")),
        path=path,
        line=line,
    )


def _scoped(sql: str, where: str | None) -> str:
    if not where:
        return sql
    return sql.replace(TARGET, f"(SELECT * FROM {TARGET} WHERE {where})")


def _singular_check(
    path: Path, display: str, models: dict[str, Any], vars: dict[str, Any]
) -> CheckDef:
    from teal.compiler.checks import _severity, _threshold, fail_calc_of

    text = path.read_text(encoding="utf-8")
    rendered = _render(text, display, vars, {})
    conf = dict(rendered.config)
    refs = _model_refs(rendered.sql, display, models, source=text)
    asset = conf.pop("asset", None)
    if asset is None:
        if not refs:
            raise ProjectError(
                "a singular check must read a model",
                path=display,
                line=1,
                hint="select the failing rows from the model it checks",
            )
        asset = refs[0]
    if asset not in models:
        raise ProjectError(
            f"check asset '{asset}' is not a model",
            path=display,
            line=1,
            hint=did_you_mean(str(asset), models) or _NAME_A_MODEL,
        )
    sql = _resolve_sql(rendered.sql, display, models, keep=asset)

    def fail(message: str, hint: str | None = None) -> ProjectError:
        return ProjectError(message, path=display, line=rendered.config_line or 1, hint=hint)

    unknown = set(conf) - {
        "severity",
        "warn_if",
        "error_if",
        "fail_calc",
        "store_failures",
        "tags",
        "description",
        "name",
        "enabled",
    }
    if unknown:
        raise fail(
            f"unknown config key '{sorted(unknown)[0]}' in a check",
            did_you_mean(sorted(unknown)[0], ["asset", "severity", "warn_if", "error_if"]),
        )
    return CheckDef(
        name=str(conf.get("name") or path.stem),
        asset=asset,
        kind="singular",
        severity=_severity(conf.get("severity", "error"), fail),
        warn_if=_threshold(conf.get("warn_if", ">0"), fail),
        error_if=_threshold(conf.get("error_if", ">0"), fail),
        fail_calc=fail_calc_of(conf.get("fail_calc"), fail),
        sql=sql,
        store_failures=bool(conf.get("store_failures")),
        path=display,
        line=1,
        reads=tuple(r for r in refs if r != asset),
        description=str(conf.get("description") or ""),
    )


def _model_refs(sql: str, path: str, models: dict[str, Any], source: str = "") -> list[str]:
    """Models a check's SQL reads, in order (unknown tables are errors, showing the line of
    the file's text ``source`` when Jinja left that line as it is)."""
    from teal.compiler.sql import parse_sql, table_references
    from teal.compiler.templating import REF_MARKER

    by_relation = {f"{m.schema}.{m.alias}".lower(): n for n, m in models.items()}
    lowered = {n.lower(): n for n in models}
    out: list[str] = []
    for ref in table_references(parse_sql(sql, path=path)):
        name = ref.name.lower()
        if ref.name == TARGET:
            continue
        hit = (
            lowered.get(name)
            if ref.db in ("", REF_MARKER)
            else by_relation.get(f"{ref.db}.{ref.name}".lower())
        )
        if hit is None:
            rendered, written = sql.splitlines(), source.splitlines()
            at = (ref.line or 0) - 1
            same = 0 <= at < min(len(rendered), len(written)) and rendered[at] == written[at]
            raise ParseError(
                f"'{ref}' is not a model",
                path=path,
                line=ref.line,
                col=ref.col,
                hint=did_you_mean(ref.name, models) or _NAME_A_MODEL,
                source_line=written[at] if same else None,
            )
        if hit not in out:
            out.append(hit)
    return out


def _resolve_sql(sql: str, path: str, models: dict[str, Any], keep: str | None) -> str:
    """Point model references at relations; the checked asset (``keep``) at TARGET."""
    from sqlglot import exp

    from teal.compiler.rewrite import point_at_relation
    from teal.compiler.sql import parse_sql
    from teal.compiler.templating import REF_MARKER

    query = parse_sql(sql, path=path)
    by_relation = {f"{m.schema}.{m.alias}".lower(): n for n, m in models.items()}
    lowered = {n.lower(): n for n in models}
    for table in list(query.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier) or table.name == TARGET:
            continue
        name = (
            lowered.get(table.name.lower())
            if table.db in ("", REF_MARKER)
            else by_relation.get(f"{table.db}.{table.name}".lower())
        )
        if name is None:
            continue
        if name == keep:
            original = table.alias_or_name
            table.set("this", exp.to_identifier(TARGET))
            table.set("db", None)
            table.set("catalog", None)
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(original)))
        else:
            m = models[name]
            point_at_relation(table, m.schema, m.alias)
    return query.sql(dialect="duckdb")


def _missing_column_hint(column: str, model: Any, models: dict[str, Any], known: set[str]) -> str:
    """The hint for a YAML entry naming a column ``model``'s query does not make. When the
    name is a column of something the query reads, the query more likely misspells it
    than the YAML does: say so rather than suggest the YAML take the misspelling."""
    readers = [
        up
        for up in model.upstreams
        if up in models
        and models[up].columns is not None
        and column.lower() in {c.lower() for c in models[up].columns}
    ]
    if readers:
        close = did_you_mean(column, sorted(known))
        makes = f" ({close.removeprefix('did you mean ').rstrip('?')} instead?)" if close else ""
        return (
            f"'{column}' is a column of {readers[0]}, which the query reads: check "
            f"{model.display_path}, which does not output it{makes}"
        )
    return did_you_mean(column, sorted(known)) or f"its columns: {', '.join(sorted(known))}"
