"""What a project's models say that Spark cannot run, located in the model files.

The check runs on each SQL model's compiled SQL (what the engine would translate) and
places each problem in the file the author wrote: at the first place the construct's
name appears in the model's source, else at the position the compiled SQL gives (a model
without Jinja compiles to its own text). Pure sqlglot: no session starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from teal.compiler.errors import ProjectError
from teal.warehouse.spark.transpile import Problem, problems

HINT = (
    "write it with functions both engines have (docs/spark.md lists what translates), "
    "or keep this model on DuckDB"
)


def model_problems(models: Iterable[Any]) -> list[ProjectError]:
    """One located error per construct Spark lacks, over every SQL model given."""
    out: list[ProjectError] = []
    for model in models:
        sql = getattr(model, "compiled_sql", None)
        if getattr(model, "kind", "sql") != "sql" or not sql:
            continue
        raw = getattr(model, "raw_sql", None) or sql
        for problem in problems(sql):
            line, col = _locate(problem, raw, sql)
            text = raw.splitlines()[line - 1] if 0 < line <= len(raw.splitlines()) else None
            out.append(
                ProjectError(
                    f"{model.name} cannot run on Spark: {problem.message}",
                    path=model.display_path,
                    line=line,
                    col=col,
                    hint=HINT,
                    source_line=text,
                )
            )
    return out


def _locate(problem: Problem, raw: str, compiled: str) -> tuple[int, int]:
    """Where ``problem`` is in the author's text ``raw`` (1-based)."""
    words = problem.construct.replace("*", " ").split()
    if words:
        pattern = re.compile(
            r"(?<![\w.])" + r"\s+".join(re.escape(w) for w in words) + r"\b", re.IGNORECASE
        )
        for i, text in enumerate(raw.splitlines(), 1):
            hit = pattern.search(text)
            if hit:
                return i, hit.start() + 1
    if raw == compiled:
        return problem.line, problem.col
    return 1, 1
