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
from collections.abc import Callable
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
        """Raise a located error (exit 2) when ``name`` is no macro, or when ``args`` names
        an argument the macro does not take (and it takes no ``**kwargs``): found before
        the warehouse is opened."""
        package, short, index = self._find(name)
        macro = getattr(self._loader.jinja.module(index), short, None)
        takes = tuple(getattr(macro, "arguments", ()))
        if macro is None or getattr(macro, "catch_kwargs", True):
            return
        unknown = [a for a in args if a not in takes]
        if not unknown:
            return
        path, line, text = self._definition(index, short)
        raise ProjectError(
            f"macro '{name}' takes no argument '{unknown[0]}'"
            + (f" (it takes {', '.join(takes)})" if takes else " (it takes none)"),
            path=path,
            line=line,
            source_line=text,
            hint=did_you_mean(unknown[0], takes) or "--args names the macro's arguments",
        )

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
        self, name: str, args: dict[str, Any], query: Query, log: Callable[[str], None]
    ) -> None:
        """Call macro ``name`` with ``args`` as keyword arguments, as ``dbt run-operation``
        does: ``execute`` is true, its statements and ``run_query`` go to ``query``, and
        each line it logs with ``info=True`` is handed to ``log`` as it logs it. What it
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
            jinja.held_logs = _Lines(log)
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
                jinja.held_logs = None
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


class _Lines(list[str]):
    """The list the context's ``log()`` appends a line to (``DbtJinja.held_logs``), handing
    each line on as it is logged: an operation's lines show while it runs, and those
    before a failure show too."""

    def __init__(self, then: Callable[[str], None]) -> None:
        super().__init__()
        self._then = then

    def append(self, line: str) -> None:
        super().append(line)
        self._then(line)
