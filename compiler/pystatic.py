"""Read what a Python model file declares without running it, when its text says it all.

Importing a model file runs it, and model files import polars or pyarrow (0.15 s together)
before they declare anything. Most files are imports, functions under ``@teal.asset`` or
``@teal.asset_check`` with literal arguments, and constants: for those, the declarations
(names, parameters, the input kind each annotation asks for, config, source lines) are
read from the syntax tree, as dbt reads its Python models. The functions themselves are
imported when a build runs them (``compiler.pyfiles.Deferred``).

Anything whose effect only running the file can tell (a call at module level, a decorator
other than teal's, a non-literal argument, an annotation that is not a known import, a
conditional or a loop) makes :func:`read_declarations` return None, and the file is
imported as before. So the two ways agree: ``tests/test_pystatic.py`` checks that a file
read here gives the same records as the same file imported.

>>> records = read_declarations(Path("m.py"), '''
... import polars as pl
... import teal
...
... @teal.asset(tags=["daily"])
... def orders(raw_orders: pl.DataFrame, context) -> pl.DataFrame:
...     return raw_orders
... ''')
>>> a = records["assets"][0]
>>> a["attr"], a["annotations"], a["fields"]["upstream_params"], a["fields"]["config"]
('orders', {'raw_orders': 'polars.DataFrame'}, ('raw_orders',), {'tags': ['daily']})
>>> read_declarations(Path("m.py"), "import teal\\nprint('hello')\\n") is None
True
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path
from typing import Any

from teal.compiler.assets import CONTEXT_PARAM, INPUT_KINDS, declared_schema

# keyword arguments of teal.asset / teal.asset_check, in the order asset() builds its config
_ASSET_CONFIG = (
    "schema",
    "materialized",
    "tags",
    "description",
    "group",
    "meta",
    "partitioned_by",
    "partition_column",
    "partition_mapping",
    "backfill_policy",
    "rebuild_stale",
    "retries",
    "retry_delay",
    "columns",
    "io_manager",
    "location",
    "format",
    "compression",
    "partition_by",
    "vars",
    "automation_condition",
)
_ASSET_ARGS = frozenset({"name", "deps", *_ASSET_CONFIG})
_CHECK_ARGS = frozenset({"asset", "name", "severity", "description"})
_DECORATORS = {
    "teal.asset": "asset",
    "compiler.assets.asset": "asset",
    "teal.asset_check": "check",
    "compiler.assets.asset_check": "check",
}
_ANY = {"typing.Any", "typing_extensions.Any"}
# base classes of typed fields: a parameter annotated with a subclass is not an upstream
_FIELD_BASES = {
    "teal.Config": "config",
    "teal.Resource": "resource",
    "teal.compiler.resources.Config": "config",
    "teal.compiler.resources.Resource": "resource",
}
# nodes a module-level constant may be built of (no calls: a call could do anything)
_PLAIN = (
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.Set,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Subscript,
    ast.Slice,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.JoinedStr,
    ast.FormattedValue,
)


class _Unsure(Exception):
    """Only running the file can tell."""


def read_declarations(path: Path, text: str) -> dict[str, list[dict[str, Any]]] | None:
    """The records ``compiler.pyfiles`` would make by importing the file, or None when the
    file has to be imported to know them."""
    try:
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError):
        return None  # the import reports it, at the right line
    try:
        return _Reader(path, text).read(tree)
    except _Unsure:
        return None


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        # lines as Python numbers them: split at newlines only (str.splitlines also splits at
        # form feeds and other separators; the text has universal newlines already)
        ends = text.split("\n")
        self.path, self.lines = path, [line + "\n" for line in ends[:-1]] + [ends[-1]]
        self.names: dict[str, str | None] = {}  # module-level name -> what it was imported as
        self.assets: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.asset_names: dict[str, str] = {}  # function name -> asset name (for deps=[fn])
        self.declared: set[str] = set()  # names of decorated functions (assets and checks)
        # classes of typed fields this file defines: name -> "config" | "resource"
        self.field_classes: dict[str, str] = {}
        # of the function being read: its resource parameters and run config parameter
        self.resource_params: list[str] = []
        self.config_param: str | None = None

    def read(self, tree: ast.Module) -> dict[str, list[dict[str, Any]]]:
        body = tree.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        defined: set[str] = set()
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._bind(
                        alias.asname or alias.name.split(".")[0],
                        alias.name if alias.asname else alias.name.split(".")[0],
                        defined,
                    )
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name == "*":
                        raise _Unsure
                    target = (
                        f"{node.module}.{alias.name}" if node.module and not node.level else None
                    )
                    self._bind(alias.asname or alias.name, target, defined)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._definition(node, defined)
            elif isinstance(node, ast.ClassDef):
                self._field_class(node, defined)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for value in (node.value, getattr(node, "annotation", None)):
                    if value is not None:
                        self._plain(value)
                # a constant naming a declared function would make it declared twice
                if node.value is not None and any(
                    isinstance(n, ast.Name) and n.id in self.declared for n in ast.walk(node.value)
                ):
                    raise _Unsure
                for assigned in targets:
                    if not isinstance(assigned, ast.Name):
                        raise _Unsure
                    self._bind(assigned.id, None, defined)
            elif not _is_main_guard(node):
                raise _Unsure
        self.assets.sort(key=lambda r: r["fields"]["source_line"] or 0)
        return {"assets": self.assets, "checks": self.checks}

    def _bind(self, name: str, target: str | None, defined: set[str]) -> None:
        if name in defined and (name in self.declared or self.names.get(name) in _DECORATORS):
            raise _Unsure  # rebinding a declaration (or teal's decorator) after its use
        defined.add(name)
        self.names[name] = target

    def _plain(self, node: ast.expr) -> None:
        """Raise unless evaluating ``node`` at import runs no code of the user's and every
        name in it is bound by then (else the import would fail, and must say so)."""
        for sub in ast.walk(node):
            if not isinstance(sub, _PLAIN):
                raise _Unsure
            if (
                isinstance(sub, ast.Name)
                and sub.id not in self.names
                and not hasattr(builtins, sub.id)
            ):
                raise _Unsure

    def _field_class(self, node: ast.ClassDef, defined: set[str]) -> None:
        """A ``teal.Config`` or ``teal.Resource`` subclass whose body only declares fields
        with plain defaults and undecorated methods: running it does nothing else."""
        kinds = {_FIELD_BASES.get(self._resolve(b) or "") for b in node.bases} | {
            self.field_classes.get(b.id) for b in node.bases if isinstance(b, ast.Name)
        }
        kinds.discard(None)
        if len(kinds) != 1 or node.keywords or node.decorator_list:
            raise _Unsure
        for i, item in enumerate(node.body):
            if isinstance(item, ast.Pass) or (
                i == 0 and isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant)
            ):
                continue
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                self._plain(_unquoted(item.annotation))
                if item.value is not None:
                    self._plain(item.value)
            elif isinstance(item, ast.FunctionDef) and not item.decorator_list:
                a = item.args
                for value in (*a.defaults, *(d for d in a.kw_defaults if d is not None)):
                    self._plain(value)
                for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs):
                    if arg.annotation is not None:
                        self._plain(_unquoted(arg.annotation))
                if item.returns is not None:
                    self._plain(_unquoted(item.returns))
            else:
                raise _Unsure
        self._bind(node.name, None, defined)
        self.field_classes[node.name] = str(kinds.pop())

    def _resolve(self, node: ast.expr) -> str | None:
        """The dotted name an expression refers to through the file's imports."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef, defined: set[str]) -> None:
        # what a def evaluates at import: default values and (unless postponed, in which
        # case teal evaluates them) annotations
        a = node.args
        for value in (*a.defaults, *(d for d in a.kw_defaults if d is not None)):
            self._plain(value)
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)):
            if arg.annotation is not None:
                self._plain(_unquoted(arg.annotation))
        if node.returns is not None:
            self._plain(_unquoted(node.returns))
        if not node.decorator_list:
            self._bind(node.name, None, defined)
            return
        if len(node.decorator_list) > 1 or not isinstance(node, ast.FunctionDef):
            raise _Unsure
        decorator = node.decorator_list[0]
        line = self.lines[decorator.lineno - 1]
        if not line[: decorator.col_offset].rstrip().endswith("@"):
            raise _Unsure  # "@(" and a line break: inspect counts lines from the "@"
        call = decorator if isinstance(decorator, ast.Call) else None
        kind = _DECORATORS.get(self._resolve(call.func if call else decorator) or "")
        if kind is None or (call is not None and call.args):
            raise _Unsure
        allowed = _ASSET_ARGS if kind == "asset" else _CHECK_ARGS
        args: dict[str, Any] = {}
        for keyword in call.keywords if call else []:
            if keyword.arg not in allowed:
                raise _Unsure  # (**kwargs, or a mistake the import reports)
            args[keyword.arg] = self._literal(keyword.value, keyword.arg)
        self._bind(node.name, None, defined)
        self.declared.add(node.name)
        if kind == "asset":
            self._asset(node, args)
        else:
            self._check(node, args)

    def _literal(self, node: ast.expr, arg: str) -> Any:
        if arg in ("deps", "asset"):  # may name asset functions defined above
            items = node.elts if arg == "deps" and isinstance(node, (ast.List, ast.Tuple)) else None
            if items is not None:
                return [self._literal(item, "asset") for item in items]
            if isinstance(node, ast.Name):
                if node.id not in self.asset_names:
                    raise _Unsure
                return self.asset_names[node.id]
        try:
            return ast.literal_eval(node)
        except ValueError:
            raise _Unsure from None

    def _signature(self, node: ast.FunctionDef) -> tuple[tuple[str, ...], bool, dict[str, str]]:
        a = node.args
        params = [*a.args, *a.kwonlyargs]  # positional-only ones are never passed upstreams
        every = [*a.posonlyargs, *params, *(x for x in (a.vararg, a.kwarg) if x)]
        kinds = {}
        upstream, self.resource_params, self.config_param = [], [], None
        for p in params:
            if p.arg == CONTEXT_PARAM:
                continue
            field_class = self._field_class_of(p.annotation)
            if field_class == "resource":
                self.resource_params.append(p.arg)
            elif field_class == "config":
                if self.config_param is not None:
                    raise _Unsure  # the decorator reports two of them
                self.config_param = p.arg
            else:
                upstream.append(p.arg)
                if p.annotation is not None:
                    kinds[p.arg] = self._annotation(p.annotation)
        return tuple(upstream), any(p.arg == CONTEXT_PARAM for p in every), kinds

    def _field_class_of(self, annotation: ast.expr | None) -> str | None:
        """ "config" or "resource" when the annotation names such a class of this file."""
        if annotation is None:
            return None
        node = _unquoted(annotation)
        return self.field_classes.get(node.id) if isinstance(node, ast.Name) else None

    def _annotation(self, node: ast.expr) -> str:
        """The annotation as the string ``compiler.pyfiles`` records for its input kind."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                raise _Unsure from None
        kind: str | None = "arrow"
        if not (isinstance(node, ast.Constant) and node.value is None):
            dotted = self._resolve(node)
            if dotted is None:
                raise _Unsure
            parts = dotted.split(".")
            kind = "arrow" if dotted in _ANY else INPUT_KINDS.get((parts[0], parts[-1]))
            if kind is None:
                raise _Unsure  # the import reports an annotation teal cannot pass
        return next(f"{m}.{n}" for (m, n), k in INPUT_KINDS.items() if k == kind)

    def _where(self, node: ast.FunctionDef) -> tuple[int, str]:
        """(first line, source) as ``inspect`` gives them: from the decorator's line to the
        end of the body, with the comments after it that are indented like the body."""
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        body_col = node.body[0].col_offset
        for number in range(last + 1, len(self.lines) + 1):
            stripped = self.lines[number - 1].strip()
            if stripped.startswith("#"):
                if len(self.lines[number - 1]) - len(self.lines[number - 1].lstrip()) >= body_col:
                    last = number
            elif stripped:
                break
        return first, "".join(self.lines[first - 1 : last])

    def _asset(self, node: ast.FunctionDef, args: dict[str, Any]) -> None:
        returns = None if node.returns is None else _unquoted(node.returns)
        if isinstance(returns, ast.Subscript) and (self._resolve(returns.value) or "").endswith(
            ".Annotated"
        ):
            raise _Unsure  # columns declared in the return annotation: the import reads them
        upstream, wants_context, kinds = self._signature(node)
        config: dict[str, Any] = {}
        for key in _ASSET_CONFIG:  # what asset() keeps of each argument, in its order
            value = args.get(key)
            if key == "description":
                value = value or ast.get_docstring(node, clean=True)
            if key == "partition_column":
                if args.get("partitioned_by") is not None and value is not None:
                    config[key] = value
                continue
            if key == "columns":
                if value is not None:
                    try:
                        config[key] = declared_schema(value)
                    except TypeError:
                        raise _Unsure from None  # the import reports it
                continue
            if key in ("tags", "meta", "partition_mapping"):
                if value:
                    tags = key == "tags" and not isinstance(value, dict)  # a mapping: refused
                    config[key] = list(value) if tags else dict(value)
                continue
            if key == "partition_by" and value is not None and not isinstance(value, str):
                value = list(value)
            if key == "vars" and value is not None:
                value = [value] if isinstance(value, str) else list(value)
            if value is not None and (value or key not in ("description",)):
                config[key] = value
        line, source = self._where(node)
        name = args.get("name") or node.name
        self.asset_names[node.name] = name
        self.assets.append(
            {
                "attr": node.name,
                "func_name": node.name,
                "annotations": kinds,
                "source_text": source,
                "fields": {
                    "name": name,
                    "upstream_params": upstream,
                    "wants_context": wants_context,
                    "deps": tuple(str(d) for d in args.get("deps") or ()),
                    "config": config,
                    "source_file": str(self.path),
                    "source_line": line,
                    "resource_params": tuple(self.resource_params),
                    "config_param": self.config_param,
                    "output": None,  # one asset, not an output of a multi-asset
                    "outputs": (),
                },
            }
        )

    def _check(self, node: ast.FunctionDef, args: dict[str, Any]) -> None:
        if "asset" not in args:
            raise _Unsure  # the import reports the missing argument
        upstream, wants_context, kinds = self._signature(node)
        if self.config_param is not None:
            raise _Unsure  # the decorator reports it: a check takes no run config
        line, _ = self._where(node)
        self.checks.append(
            {
                "attr": node.name,
                "func_name": node.name,
                "annotations": kinds,
                "fields": {
                    "name": args.get("name") or node.name,
                    "asset": str(args["asset"]),
                    "upstream_params": upstream,
                    "wants_context": wants_context,
                    "severity": args.get("severity", "error"),
                    "description": args.get("description")
                    or ast.get_docstring(node, clean=True)
                    or "",
                    "source_file": str(self.path),
                    "source_line": line,
                    "resource_params": tuple(self.resource_params),
                },
            }
        )


def _unquoted(node: ast.expr) -> ast.expr:
    """A string annotation as the expression it holds."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return ast.parse(node.value, mode="eval").body
        except SyntaxError:
            raise _Unsure from None
    return node


def _is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":``, which never runs when teal imports the file."""
    test = getattr(node, "test", None)
    return (
        isinstance(node, ast.If)
        and isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
        and not node.orelse
    )
