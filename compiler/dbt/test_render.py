"""A dbt test rendered into its failing-rows query, as dbt compiles a test node.

A generic test is its ``{% test %}`` macro called with dbt's arguments and ``model``, the
relation it tests: teal's placeholder ``__teal_check_target__`` when the test belongs to
that model (the engine puts the staged rows, or the published relation, in its place),
else the relation itself. A singular test is its file rendered. What a render gives
(:class:`Rendered`) besides the SQL:

- the ``config(...)`` calls the test's macro made (dbt_utils's ``equal_rowcount`` and
  ``equality`` set their ``fail_calc`` so), which the caller settles between the project's
  config and the test's YAML, as dbt documents;
- whether the test must be rendered again when it runs (``at_run``): its Jinja asked the
  warehouse about the relation it tests (``adapter.get_columns_in_relation(model)``, as
  dbt_utils's ``equality`` and ``star`` do) or about a relation this build creates. Its
  columns are those of the relation audited, known only then; the build renders it again
  just before it runs (:func:`render_again`, through ``Project.render_check``), its
  queries answered by the step's cursor, as dbt compiles a test just before running it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from teal.compiler.checks import TARGET, CheckDef
from teal.compiler.dbt.context import RenderAtRun
from teal.compiler.dbt.values import Relation
from teal.compiler.errors import ProjectError, TealError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader, Node
    from teal.compiler.project import Model

_FUNC = re.compile(r"^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$", re.S)


@dataclass(frozen=True)
class Rendered:
    """A test's query and what its render said besides."""

    sql: str
    reads: tuple[str, ...] = ()  # the models it refs
    config: dict[str, Any] = field(default_factory=dict)  # its macro's config() calls
    at_run: bool = False  # rendered again when it runs (its SQL here is a placeholder)


def render_generic(
    loader: DbtLoader,
    node: Node,
    macro: Any,
    args: dict[str, Any],
    conf: dict[str, Any],
    display: str,
    line: int | None,
    attach: str,
    models: dict[str, Model],
    tested_relation: str | None = None,
) -> Rendered:
    """The failing-rows query of a generic test; the model it belongs to (``attach``) is
    the placeholder the check audits, any other model its published relation."""
    jinja = loader.jinja
    ctx = jinja.context()
    original_ref = ctx["ref"]

    def ref(*a: Any, **k: Any) -> Any:
        rel = original_ref(*a, **k)
        return Relation(cte=TARGET) if a and str(a[-1]) == attach else rel

    def call() -> str:
        kwargs: dict[str, Any] = {}
        for key, value in args.items():
            if isinstance(value, str) and key != "column_name":
                if _FUNC.match(value):
                    value = _evaluate(jinja, value)
                elif "{{" in value:
                    value = jinja.render(jinja.template(value, display), display, value)
            kwargs[key] = value
        where = conf.get("where")
        if tested_relation is not None:
            tested = tested_relation
        elif attach == node.name:
            tested = TARGET
        else:
            tested = f'"{models[node.name].schema}"."{models[node.name].alias}"'
        model = Relation(
            cte=f"(select * from {tested} where {where}) dbt_subquery" if where else tested
        )
        try:
            return str(macro(model=model, **kwargs))
        except RenderAtRun:
            raise
        except TypeError as exc:
            raise ProjectError(
                f"test arguments do not fit the test macro: {exc}", path=display, line=line
            ) from None
        except TealError as exc:
            raise ProjectError(exc.message, path=display, line=line, hint=exc.hint) from None
        except Exception as exc:  # noqa: BLE001 - a failure inside the test's macro
            raise ProjectError(
                f"rendering the test failed: {type(exc).__name__}: {exc}", path=display, line=line
            ) from None

    ctx["ref"] = ref
    try:
        return _rendering(loader, _TestNode(node, conf, display), call)
    finally:
        ctx["ref"] = original_ref


def render_singular(loader: DbtLoader, node: Node, asset: str) -> Rendered:
    """A singular test's query: its file rendered, ``ref`` of the model it belongs to
    (``asset``) the placeholder the check audits."""
    jinja = loader.jinja
    original_ref = loader.ref

    def ref(*args: Any, **kwargs: Any) -> Any:
        rel = original_ref(*args, **kwargs)
        return Relation(cte=TARGET) if str(args[-1]) == asset else rel

    ctx = jinja.context()
    ctx["ref"] = ref
    try:
        return _rendering(loader, node, lambda: jinja.render(node.template, node.display, node.raw))
    finally:
        ctx["ref"] = original_ref


def _rendering(loader: DbtLoader, node: Any, call: Callable[[], str]) -> Rendered:
    """``call()`` rendering ``node``'s test: its SQL, refs and config() calls, or, when it
    asks the warehouse what only the run knows, a placeholder to render again then."""
    state = loader.jinja.state
    state.node, state.refs, state.sources, state.config_calls = node, [], [], []
    state.queried = False

    def rendered(sql: str, at_run: bool) -> Rendered:
        config: dict[str, Any] = {}
        for made in state.config_calls:
            config.update(made)
        return Rendered(sql, tuple(n for n, _ in state.refs), config, at_run)

    try:
        try:
            sql = call().strip()
        except RenderAtRun:
            return rendered(_placeholder(), True)
        except TealError as exc:
            if not (state.queried and loader.deferrable()):
                raise
            # it failed after asking the warehouse as it is before this build: rendered
            # again when it runs, and its error reported then if it stays
            return rendered(_placeholder(exc), True)
        return rendered(sql, state.queried and loader.deferrable())
    finally:
        state.node, state.config_calls = None, []


def _placeholder(failed: TealError | None = None) -> str:
    """The SQL shown for a test rendered when it runs (``teal compile``, the manifest)."""
    reason = ""
    if failed is not None:
        reason = "\n-- rendering it with the warehouse as it is now failed: " + " ".join(
            str(failed).split()
        )
    return (
        "-- this test asks the warehouse about what it tests while it is compiled (adapter, "
        "run_query):\n-- its SQL is rendered when it runs, on the relation it audits"
        f"{reason}\nselect 1 as rendered_at_run where false"
    )


def render_again(
    loader: DbtLoader,
    name: str,
    query: Callable[[str], Any],
    deferred: Mapping[str, tuple[str, str]] | None = None,
) -> CheckDef:
    """Test ``name`` rendered again with its queries answered by ``query`` (the build's
    cursor, the placeholder standing for the relation audited). Renders one at a time.
    ``deferred``: the models whose ``ref()`` names them in the attached production
    warehouse (a deferred build), in its queries and its SQL alike, as dbt's ``--defer``
    resolves a test's refs (compiler/deferral.DeferredRender)."""
    with loader.render_lock:
        loader.live_query, loader.deferred = query, deferred
        before, loader.jinja.phase = loader.jinja.phase, "compile"
        try:
            return loader.test_renders[name]()
        finally:
            loader.live_query, loader.deferred = None, None
            loader.jinja.phase = before


def _evaluate(jinja: Any, expression: str) -> Any:
    """A test argument such as ``ref('customers')``: evaluated, as dbt does."""
    template = jinja.env.compile_expression(expression.strip())
    return template(**jinja.context())


class _TestNode:
    """The node a test renders for: its config is the test's (for config.get('where'))."""

    def __init__(self, node: Node, conf: dict[str, Any], display: str) -> None:
        self._node, self.config, self.display = node, conf, display
        self.resource_type = "test"
        self.package, self.name, self.raw = node.package, node.name, ""
        self.fqn = node.fqn
        self.refs: list[tuple[str, str | None]] = []
        self.sources: list[tuple[str, str]] = []
        self.schema, self.alias, self.database, self.compiled, self.yaml = (
            node.schema,
            node.alias,
            node.database,
            "",
            None,
        )

    @property
    def materialized(self) -> str:
        return "test"

    @property
    def unique_id(self) -> str:
        return f"test.{self.package}.{self.name}"

    @property
    def enabled(self) -> bool:
        return True
