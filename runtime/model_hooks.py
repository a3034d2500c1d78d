"""A model's own hooks (a dbt model's ``pre-hook`` and ``post-hook``), run by the executor
on the step's connection: pre-hooks just before the model's build transaction begins,
post-hooks just after it commits. A failing pre-hook fails the model before anything is
built; a failing post-hook fails it after its data is published (the data stays, as in dbt,
where a post-hook runs after the model's statement). Each hook is its statements as
rendered when the project loaded (``{{ this }}`` is the model's relation)."""

from __future__ import annotations

from dataclasses import replace

from teal.compiler.errors import ExecutionError
from teal.compiler.project import Model
from teal.runtime.results import ERROR, ModelResult
from teal.warehouse.engine import EngineCursor


def run_model_hooks(cur: EngineCursor, model: Model, when: str) -> None:
    """Run ``model``'s ``when`` ("pre" | "post") hooks in order; the first that fails
    raises an :class:`ExecutionError` naming it."""
    hooks = model.pre_hooks if when == "pre" else model.post_hooks
    for i, sql in enumerate(hooks, 1):
        try:
            cur.run_statements(sql)
        except Exception as exc:  # noqa: BLE001 - the database's message, named
            raise ExecutionError(
                f"{when}-hook {i} failed: {str(exc).splitlines()[0]}",
                path=model.display_path,
                hint="the hook ran as rendered: " + " ".join(sql.split())[:200],
            ) from None


def with_post_hooks(cur: EngineCursor, model: Model, result: ModelResult) -> ModelResult:
    """``result`` of a built model after its post-hooks ran (an error if one failed)."""
    try:
        run_model_hooks(cur, model, "post")
    except ExecutionError as exc:
        return replace(
            result, status=ERROR, message="published, then " + exc.message, published=True
        )
    return result
