"""What a dbt project's Jinja does after its load, for the commands that are not builds:
``teal run-operation`` calls a macro, and ``teal show --inline`` renders an ad-hoc query,
both as dbt does, in the load's environment (the project's, its packages' and dbt's
macros; ``ref``, ``source``, ``var``, ``run_query``, ``statement``, ``log``, ``adapter``).

The loader stays alive behind :class:`DbtOperations` (``Project.dbt_operations``), as it
does behind ``Project.render_run_end``. The runtime hands each call the query function of
the warehouse it opened (``EngineCursor.query``): every query the template runs goes there,
nowhere else. Nothing here opens a connection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.context import INTERNAL
from teal.compiler.dbt.nodes import Node, with_ctes
from teal.compiler.errors import (
    ExecutionError,
    ProjectError,
    SelectionError,
    TealError,
    did_you_mean,
)

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader

# (column names, rows) of a query the template runs, as EngineCursor.query answers it
Query = Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]

# an on-run-start hook as Project.hooks keeps it: ("start", SQL, lines it logs)
HookEntry = tuple[str, str, tuple[str, ...]]

INLINE = "--inline"  # where an ad-hoc query's errors are located: the flag that gave it
OPERATION = "run-operation"  # the template that calls the macro: its errors are moved


class DbtOperations:
    """A loaded dbt project's Jinja, for a macro call or an ad-hoc query; one at a time
    (the loader's render lock), as the build's renders are."""

    def __init__(self, loader: DbtLoader) -> None:
        self._loader = loader

    # -- teal show --inline --------------------------------------------------------------
    def inline_sql(self, text: str, query: Query) -> str:
        """``text`` rendered as a model is (``ref`` gives the relation, an ephemeral model
        its CTE, injected as dbt injects it), its queries answered by ``query``; errors
        are located in ``--inline``."""
        loader = self._loader
        jinja = loader.jinja
        node = Node(
            "model",
            loader.settings.project.name,
            "inline_query",
            loader.cfg.root / INLINE,
            INLINE,
            [loader.settings.project.name, "inline_query"],
            raw=text,
            config={"materialized": "view"},
        )
        with loader.render_lock:
            loader.live_query = query
            state = jinja.state
            state.node, state.refs, state.sources = node, [], []
            try:
                node.compiled = jinja.render(jinja.template(text, INLINE), INLINE, text).strip()
                node.refs = list(state.refs)
            finally:
                state.node = None
                loader.live_query = None
        return self._with_ephemerals(node)

    def _with_ephemerals(self, node: Node) -> str:
        """The node's SQL with the ephemeral models it reads (and those they read, deepest
        first) as ``__dbt__cte__<name>`` CTEs, as compiler/dbt/compile.py injects them
        into a model's."""
        by_name = {
            n.name: n
            for nodes in self._loader.by_name.values()
            for n in nodes
            if n.enabled and n.resource_type != "test"
        }
        deps: list[Node] = []

        def visit(refs: list[tuple[str, str | None]]) -> None:
            for name, _ in refs:
                up = by_name.get(name)
                if up is not None and up.materialized == "ephemeral" and up not in deps:
                    visit(up.refs)
                    if up not in deps:
                        deps.append(up)

        visit(node.refs)
        if not deps:
            return node.compiled
        ctes = ",\n".join(f"__dbt__cte__{d.name} as (\n{d.compiled}\n)" for d in deps)
        return with_ctes(node.compiled, ctes)

    # -- teal run-operation --------------------------------------------------------------
    def macro_names(self) -> list[str]:
        """The macros ``run-operation`` can call: the project's by name, every package's
        (and dbt's) as ``package.name``."""
        macros = self._loader.jinja.macros
        root = self._loader.settings.project.name
        found = sorted(macros.get(root, {}))
        for package in sorted(macros):
            if package != root:
                found += [f"{package}.{name}" for name in sorted(macros[package])]
        return found

    def _find(self, name: str) -> tuple[str, str, int]:
        """(package, macro, index of its file) of ``name``, as dbt finds an operation's
        macro: ``package.macro`` in that package; a bare name in the root project, then
        the installed packages, then dbt's own. An unknown name is a located error."""
        macros = self._loader.jinja.macros
        root = self._loader.settings.project.name
        package, _, short = name.rpartition(".")
        if package:
            order = [package]
        else:
            order = [root, *(p for p in sorted(macros) if p not in (root, INTERNAL)), INTERNAL]
        for pkg in order:
            index = macros.get(pkg, {}).get(short)
            if index is not None:
                return pkg, short, index
        names = self.macro_names()
        bare = [n.rpartition(".")[2] for n in names]
        raise SelectionError(
            f"no macro named '{name}' in the project or its packages",
            path="MACRO",
            hint=did_you_mean(name, names)
            or did_you_mean(short, bare)
            or "a macro is defined with {% macro NAME(...) %} in a file of the macro-paths",
        )

    def check_call(self, name: str, args: dict[str, Any]) -> None:
        """Raise a located error (exit 2) when ``name`` is no macro, when ``args`` names an
        argument the macro does not take (and it takes no ``**kwargs``), or leaves out
        one it has no default for: found before the warehouse is opened, so before any
        of its SQL runs. The error is at the line defining the macro, with its signature."""
        package, short, index = self._find(name)
        macro = getattr(self._loader.jinja.module(index), short, None)
        if macro is None:
            return
        takes = tuple(getattr(macro, "arguments", ()))
        signature = self._signature(index, short)
        required = [a for a, default in signature if default is None]
        unknown = (
            [] if getattr(macro, "catch_kwargs", True) else [a for a in args if a not in takes]
        )
        missing = [a for a in required if a not in args]
        if not unknown and not missing:
            return
        path, line, text = self._definition(index, short)
        shown = f"{short}({', '.join(a if d is None else f'{a}={d}' for a, d in signature)})"
        if unknown:
            message = f"macro {shown} takes no argument{_s(unknown)} {_quoted(unknown)}"
            hint = did_you_mean(unknown[0], takes) or (
                f"--args names the macro's arguments: {', '.join(takes)}"
                if takes
                else "it takes no arguments: leave out --args"
            )
        else:
            message = (
                f"macro {shown} needs argument{_s(missing)} {_quoted(missing)}, which "
                "--args does not give"
            )
            needed = ", ".join(f"{a}: ..." for a in missing)
            hint = f"--args '{{{needed}}}'" + (" with the arguments given" if args else "")
        raise ProjectError(message, path=path, line=line, source_line=text, hint=hint)

    def _signature(self, index: int, short: str) -> list[tuple[str, str | None]]:
        """Each argument of macro ``short`` (of file ``index``) with its default as
        written, None for an argument it must be given; read from the file as Jinja
        parses it (a compiled macro keeps its names, not which have defaults)."""
        from jinja2 import nodes

        jinja = self._loader.jinja
        tree = jinja.env.parse(jinja.files[index].text)
        found = next((m for m in tree.find_all(nodes.Macro) if m.name == short), None)
        if found is None:
            return []
        names = [a.name for a in found.args]
        defaults: list[str | None] = [None] * (len(names) - len(found.defaults))
        defaults += [_default_text(d) for d in found.defaults]
        return list(zip(names, defaults, strict=True))

    def _definition(self, index: int, short: str) -> tuple[str, int | None, str | None]:
        """(file, line, text of the line) where macro ``short`` of file ``index`` is
        defined, as written (the file's text before Jinja's rewrites)."""
        macro_file = self._loader.jinja.files[index]
        text = next(
            (t for _, d, t in self._loader.macro_sources if d == macro_file.display),
            macro_file.text,
        )
        found = re.search(r"\{%-?\s*macro\s+" + re.escape(short) + r"\b", text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        return macro_file.display, line, text.splitlines()[line - 1] if line else None

    def call_macro(
        self, name: str, args: dict[str, Any], query: Query, log: Callable[[str, str], None]
    ) -> None:
        """Call macro ``name`` with ``args`` as keyword arguments, as ``dbt run-operation``
        does: ``execute`` is true, its statements and ``run_query`` go to ``query``, and
        each line it logs is handed to ``log`` as it logs it, with its level: ``info``
        for ``log(..., info=True)`` and ``print(...)`` (dbt shows both), ``debug`` for
        ``log(...)`` with ``info=False`` (dbt writes those to its debug log). What it
        renders or returns is dropped, as dbt drops it. Whatever it raises (its own
        ``exceptions.raise_compiler_error``, a failing query, a Jinja error) is an
        :class:`ExecutionError` at the macro file's line."""
        loader = self._loader
        jinja = loader.jinja
        package, short, index = self._find(name)
        call = jinja.find_macro(short, package)
        assert call is not None  # _find found it there
        text = "{{ __teal_macro(**__teal_args) }}"
        node = Node(
            "operation",
            loader.settings.project.name,
            f"operation_{short}",
            loader.cfg.config_path,
            OPERATION,
            [loader.settings.project.name, "operation", short],
            raw=text,
        )
        with loader.render_lock:
            loader.live_query = query
            jinja.state.node = node
            jinja.operation_log = log
            try:
                jinja.render(
                    jinja.template(text, OPERATION),
                    OPERATION,
                    text,
                    {"__teal_macro": call, "__teal_args": args},
                )
            except TealError as exc:
                raise self._failed(exc, name, index) from None
            finally:
                jinja.state.node = None
                jinja.operation_log = None
                loader.live_query = None

    def _failed(self, exc: TealError, name: str, index: int) -> ExecutionError:
        """``exc`` (raised while the macro ran) as the operation's failure: where the macro
        raised it, or, raised by the call itself rather than in the macro's file, at the
        line defining the macro."""
        hint = exc.hint
        if hint and hint.startswith(f"in a macro that {OPERATION}"):
            hint = f"raised while `teal run-operation {name}` ran it"
        path, line, col, source_line = exc.path, exc.line, exc.col, exc.source_line
        if path in (None, OPERATION):
            path, line, source_line = self._definition(index, name.rpartition(".")[2])
            col = None
        return ExecutionError(
            exc.message, path=path, line=line, col=col, hint=hint, source_line=source_line
        )

    # -- a deferred build ----------------------------------------------------------------
    def deferred_hooks(
        self, models: list[str], deferred: Mapping[str, tuple[str, str]]
    ) -> tuple[dict[str, tuple[tuple[str, ...], tuple[str, ...]]], list[HookEntry] | None]:
        """The hooks that ``ref()`` a ``deferred`` model rendered again with that ref
        naming it in the attached production warehouse (compiler/deferral.py), as dbt's
        ``--defer`` resolves a hook's refs: ((pre, post) of each of ``models`` whose hooks
        read one, the on-run-start entries when one of them does, else None). Hooks that
        read none keep their load's render; the queries a hook runs (``run_query``) read
        this warehouse, as when the project loaded."""
        from teal.compiler.dbt.compile import hook_node, run_start_hooks
        from teal.compiler.dbt.model_hooks import hook_refs, render_model_hooks

        loader = self._loader

        def reads(node: Node, texts: list[str] | None = None) -> bool:
            return any(r in deferred for r, _ in hook_refs(loader, node, texts))

        with loader.render_lock:
            before = loader.jinja.phase
            try:
                loader.jinja.phase = "parse"  # which refs each reads (execute false)
                nodes = [next(n for n in loader.by_name[m] if n.enabled) for m in models]
                nodes = [n for n in nodes if reads(n)]
                start = list(loader.settings.on_run_start)
                starts = bool(start) and reads(hook_node(loader, "start", 0, ""), start)
                loader.jinja.phase, loader.deferred = "compile", deferred
                hooks = {n.name: render_model_hooks(loader, n) for n in nodes}
                return hooks, run_start_hooks(loader) if starts else None
            finally:
                loader.deferred = None
                loader.jinja.phase = before


def _s(names: list[str]) -> str:
    return "" if len(names) == 1 else "s"


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _default_text(node: Any) -> str:
    """An argument's default as Jinja writes it (``none``, ``true``, ``'x'``, ``[]``);
    ``...`` for an expression."""
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        value = node.value
        if value is None or isinstance(value, bool):
            return str(value).lower()
        return repr(value)
    if isinstance(node, nodes.List | nodes.Tuple | nodes.Dict) and not node.items:
        return {nodes.List: "[]", nodes.Tuple: "()", nodes.Dict: "{}"}[type(node)]
    return "..."
