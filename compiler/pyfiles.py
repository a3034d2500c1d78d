"""Python model files: read from their text, imported, or read from the compile cache.

A file simple enough for its text to say what it declares is not run at all
(``compiler.pystatic``); the others are imported.

Importing a model file runs it, and model files import polars, pyarrow or pandas: for a
project with 50 of them that was 0.3 s of a 0.7 s warm ``teal plan``. What a file declares
(asset and check names, parameters and the input kind each asks for, config, source lines)
is plain data, so the loader keeps it in the compile cache under a key made of the text of
every Python model file, and re-imports them all when any of them changed or when a
project-local module they imported (a helper beside the models) changed. The functions are
imported when a build calls them (:class:`Deferred`).

What the cache cannot see: a model file that declares different assets depending on an
environment variable or on a data file it reads at import. Deleting ``.teal/`` imports
everything again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import pickle
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from teal.compiler.assets import (
    INPUT_KINDS,
    AssetCheckDef,
    AssetDef,
    DeclarationError,
    input_kind,
)
from teal.compiler.errors import ParseError, ProjectError
from teal.compiler.fresh_imports import (
    file_digest,
    forget_edited,
    forget_others,
    stamp,
    stamped_unchanged,
    stamping,
)
from teal.compiler.multi_assets import MultiAssetDef

TEAL_PACKAGES = {"compiler", "warehouse", "runtime", "teal"}  # teal's own code, not helpers
_COMPLETE = "__teal_imported__"  # set on a model file's module once it ran to the end

# an input kind back to an annotation string that input_kind() reads as that kind
_ANNOTATION_OF_KIND = {kind: f"{module}.{name}" for (module, name), kind in INPUT_KINDS.items()}


def _keyword_hint(exc: Exception) -> str | None:
    """For a misspelt keyword of ``@teal.asset`` or ``@teal.asset_check`` (a TypeError at
    import), the keyword it was probably meant to be."""
    import re

    from teal.compiler.assets import asset, asset_check
    from teal.compiler.errors import did_you_mean

    found = re.match(r"(\w+)\(\) got an unexpected keyword argument '(\w+)'", str(exc))
    if isinstance(exc, TypeError) and str(exc).startswith(
        "asset_check() missing 1 required keyword-only argument: 'asset'"
    ):
        return "name the model it checks: @teal.asset_check(asset='orders')"
    if not isinstance(exc, TypeError) or found is None:
        return None
    decorators: dict[str, Callable[..., Any]] = {"asset": asset, "asset_check": asset_check}
    decorator = decorators.get(found.group(1))
    if decorator is None:
        return None
    if found.group(2) in DAGSTER_ONLY:
        return DAGSTER_ONLY[found.group(2)]
    known = [p for p in inspect.signature(decorator).parameters if p != "fn"]
    return did_you_mean(found.group(2), known) or f"{found.group(1)}() takes: " + ", ".join(known)


# Dagster's keywords teal has no use for, with what teal does instead
DAGSTER_ONLY = {
    "code_version": "teal versions an asset by its function's source (an edit marks it and "
    "what reads it stale): remove code_version",
    "compute_kind": "teal shows an asset's kind itself (python): remove compute_kind",
    "key_prefix": "an asset's schema is its folder's, or @teal.asset(schema=...): write "
    "schema= instead",
    "metadata": "write meta= (a mapping kept with the asset), or return teal.Output(data, "
    "metadata=...) for a materialization's",
    "partitions_def": "write partitioned_by= (a mapping such as {'daily': '2026-01-01'}, or "
    "a list of keys): docs/partitions.md",
    "group_name": "write group= (a model's group, selected with group:NAME)",
}


def syntax_hint(display: str) -> str:
    """The hint of a Python file's syntax error (model files, checks, sensors)."""
    return f"fix the syntax at that line (`python -m py_compile {display}` shows the same)"


def module_name(models_dir: Path, path: Path) -> str:
    return "teal_project_models." + ".".join(path.relative_to(models_dir).with_suffix("").parts)


def importable(root: Path) -> None:
    """Put the project folder on ``sys.path``, where ``python -m teal.cli`` run from it
    puts it: a model file, ``resources.py`` or a sensor imports the project's own modules
    (``from resources import WeatherApi``) however teal was started (the ``teal`` script,
    the API). First, as Python puts a script's folder: a process that opened another
    project since (a notebook) finds this one's modules before that one's."""
    entry = str(root)
    if sys.path[:1] != [entry]:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)
        sys.path.insert(0, entry)


def import_file(path: Path, name: str, display: str, root: Path | None = None) -> Any:
    """Run one model file as module ``name`` (again, if it ran before: it may have changed);
    errors point at the file and line. The module, and the modules under the project folder
    ``root`` it imports first, are stamped with the text they ran (compiler/fresh_imports.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProjectError("cannot import Python model file", path=display)
    # compiled from the text read here, not from a cached .pyc: Python takes a .pyc for
    # current while the file keeps its size and modification second, and an edit inside
    # that second would run the old code beside the new text's version
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"cannot read Python model file: {exc}", path=display) from None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        code = compile(source, str(path), "exec", dont_inherit=True)
        with stamping(root):
            exec(code, module.__dict__)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise ParseError(
            f"Python syntax error: {exc.msg}",
            path=display,
            line=exc.lineno,
            col=exc.offset,
            source_line=exc.text,
            hint=syntax_hint(display),
        ) from None
    except Exception as exc:  # noqa: BLE001 - the user's module raised: reported with its line
        sys.modules.pop(name, None)
        line = None
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == str(path):
                line = frame.lineno
        if isinstance(exc, DeclarationError):  # teal's decorator, misused: says it all
            raise ProjectError(
                str(exc), path=display, line=exc.line or line, hint=exc.hint
            ) from None
        raise ParseError(
            f"importing the model file raised {type(exc).__name__}: {exc}",
            path=display,
            line=line,
            hint=_keyword_hint(exc) or "fix the error at module level in this file",
        ) from None
    stamp(module, hashlib.sha256(source).hexdigest())
    setattr(module, _COMPLETE, True)
    return module


def import_functions(definitions: Any) -> None:
    """Import the files whose functions ``definitions`` (assets or checks) still defer."""
    for definition in definitions:
        if isinstance(definition.fn, Deferred):
            definition.fn.resolve()


def declared(
    module: Any, path: Path
) -> tuple[list[tuple[str, AssetDef]], list[tuple[str, AssetCheckDef]]]:
    """(variable, definition) of the assets and checks defined in ``path`` itself."""
    assets, checks = [], []
    for attr, value in vars(module).items():
        if not (getattr(value, "source_file", None) and Path(value.source_file) == path):
            continue
        if isinstance(value, AssetDef):
            assets.append((attr, value))
        elif isinstance(value, MultiAssetDef):  # one asset per output, all from one call
            assets += [(attr, one) for one in value.assets]
        elif isinstance(value, AssetCheckDef):
            checks.append((attr, value))
    assets.sort(key=lambda item: item[1].source_line or 0)
    return assets, checks


class FileImports:
    """The imports of one load's model files, one at a time: a build imports the files it
    needs on a background thread while another thread may call one of their functions, and
    a file must not run twice at once (two half-run copies of its module).

    One per load, shared by that load's :class:`Deferred` functions (a stored project
    shares a fresh one after unpickling), so no lock is held by the process."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root  # the project folder: its modules edited since they ran run again
        self._lock = threading.RLock()
        self._checked = False  # whether this load looked for edited modules yet

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root}  # a lock does not pickle; the loaded copy makes its own

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root, self._lock, self._checked = state.get("root"), threading.RLock(), False

    def forget_edited(self) -> None:
        """Once per load, before it imports a file: forget the project's modules if one
        was edited since it ran."""
        with self._lock:
            self.ours_first()
            if not self._checked and self.root is not None:
                forget_edited(self.root)
            self._checked = True

    def ours_first(self) -> None:
        """Before a file of this project is imported: when another project's folder came
        first on ``sys.path`` since (a notebook that opened two), forget what that project
        imported and put this one's first again, so that its files import their own
        helpers. One comparison in a process of one project."""
        if self.root is not None and sys.path[:1] != [str(self.root)]:
            forget_others(self.root)
            importable(self.root)

    def module(self, path: str, module: str, display: str) -> Any:
        """Model file ``path`` as module ``module``, imported unless this process already
        ran that very text to its end and no project module it may use was edited since
        (compiler/fresh_imports.py: a notebook's build after an edit runs the edit)."""
        with self._lock:
            self.forget_edited()
            found = sys.modules.get(module)
            if (
                getattr(found, "__file__", None) != path
                or not getattr(found, _COMPLETE, False)
                or not stamped_unchanged(found, Path(path))
            ):  # forget_edited() put this project's folder first
                found = import_file(Path(path), module, display, self.root)
            return found


class Deferred:
    """Stands for a model file's function until it is needed: then the file is imported.

    A build imports the files it needs on a background thread as it starts, and waits for
    them before any of their Python runs (runtime.python_imports), so an error at import is
    reported like one met by the load, before a Python step starts.
    """

    def __init__(
        self,
        path: str,
        module: str,
        attr: str,
        display: str,
        func_name: str,
        imports: FileImports,
    ) -> None:
        self.path, self.module, self.attr = path, module, attr
        self.display, self.__name__ = display, func_name
        self.imports = imports

    def resolve(self) -> Any:
        return self.definition().fn

    def definition(self) -> Any:
        """The decorated definition (asset or check) this stands for, its file imported."""
        return getattr(self.imports.module(self.path, self.module, self.display), self.attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self.__name__} in {self.display}, not imported yet>"


def _kinds(definition: Any) -> dict[str, str] | None:
    """Upstream annotations as strings of the same input kind (None: one is unsupported,
    so the file must be imported to report it)."""
    out = {}
    for param in definition.upstream_params:
        if param not in definition.annotations:
            continue
        kind = input_kind(definition.annotations[param])
        if kind is None:
            return None
        out[param] = _ANNOTATION_OF_KIND[kind]
    return out


def _record(attr: str, definition: Any) -> dict[str, Any] | None:
    kinds = _kinds(definition)
    if kinds is None:
        return None
    fields = {k: v for k, v in vars(definition).items() if k not in ("fn", "annotations")}
    record = {
        "attr": attr,
        "func_name": getattr(definition.fn, "__name__", attr),
        "annotations": kinds,
        "fields": fields,
    }
    if isinstance(definition, AssetDef):
        record["source_text"] = _source(definition)
    return record


def _source(definition: AssetDef) -> str | None:
    """The asset function's source: part of the model's version (a changed body rebuilds)."""
    try:
        return inspect.getsource(definition.fn)
    except (OSError, TypeError):
        return None


def helpers_unchanged(helpers: dict[str, str | None]) -> bool:
    """Whether every recorded project-local module still has the recorded content."""
    return all(file_digest(Path(path)) == digest for path, digest in helpers.items())


class Declared(NamedTuple):
    """What one model file declares: assets (with their function's source) and checks."""

    path: Path
    display: str
    assets: list[tuple[AssetDef, str | None]]
    checks: list[AssetCheckDef]


# the form of a cached declaration: 2, since a teal decorator written twice on a function
# is an error (a file read before declared nothing, silently)
_ENTRY = "2"


class PythonFiles:
    """Every Python model file of a load: their declarations, imported or cached."""

    def __init__(self, files: list[tuple[Path, str, str]], cache: Any, root: Path) -> None:
        self.files = files  # (path, module name, display path)
        self.cache = cache
        self.root = root
        self.helpers: dict[str, str | None] = {}  # project-local modules imported -> digest
        self.imports = FileImports(root)  # how this load's deferred functions import their files

    def load(self) -> list[Declared]:
        """What each file declares, in file order."""
        if not self.files:
            return []
        from teal.compiler.cache import content_key

        texts = [path.read_text(encoding="utf-8") for path, _, _ in self.files]
        key = content_key(
            "python-files",
            _ENTRY,
            *(part for (path, _, _), text in zip(self.files, texts) for part in (str(path), text)),
        )
        hit = self.cache.get("python", key) if self.cache is not None else None
        if hit is not None and helpers_unchanged(hit["helpers"]):
            self.helpers = dict(hit["helpers"])
            return [
                self._from_records(path, name, display, hit["files"][i])
                for i, (path, name, display) in enumerate(self.files)
            ]
        return self._read_all(key, texts)

    def _read_all(self, key: str, texts: list[str]) -> list[Declared]:
        """Each file's declarations: read from its text when that says it all
        (compiler.pystatic), else by importing it."""
        from teal.compiler.pystatic import read_declarations

        # per file: what importing it declared (None: read from its text), and its records
        found: list[tuple[Path, str, list[tuple[str, AssetDef]], list[tuple[str, Any]]] | None] = []
        records: list[dict[str, Any]] = []  # {"assets": [record or None], "checks": [...]}
        imported = False
        for (path, name, display), text in zip(self.files, texts):
            record = read_declarations(path, text)
            if record is not None:
                found.append(None)
                records.append(record)
                continue
            imported = True
            self.imports.forget_edited()
            assets, checks = declared(import_file(path, name, display, self.root), path)
            found.append((path, display, assets, checks))
            records.append(
                {
                    "assets": [_record(a, d) for a, d in assets],
                    "checks": [_record(a, c) for a, c in checks],
                }
            )
        cacheable = all(r is not None for f in records for r in (*f["assets"], *f["checks"]))
        if cacheable and self.cache is not None and not imported:
            self.cache.put("python", key, {"files": records, "helpers": {}})
        elif cacheable and self.cache is not None:
            # every project-local module loaded now, not only those these imports loaded
            # first: a helper imported by an earlier load in this process counts too
            helpers = {}
            own = {str(path) for path, _, _ in self.files}
            root = self.root.resolve()
            for mod_name, module in list(sys.modules.items()):
                file = getattr(module, "__file__", None)
                if (
                    not file
                    or file in own
                    or "site-packages" in file
                    or mod_name.split(".")[0] in TEAL_PACKAGES
                    or mod_name.startswith("teal_project_models.")
                ):
                    continue
                if Path(file).resolve().is_relative_to(root):
                    helpers[file] = file_digest(Path(file))
            entry = {"files": records, "helpers": helpers}
            try:
                pickle.dumps(entry)
            except Exception:  # noqa: BLE001 - config holding something unpicklable: no cache
                cacheable = False
            else:
                self.cache.put("python", key, entry)
                self.helpers = helpers
        if cacheable:
            # the same definitions a warm load makes (functions deferred, input kinds as
            # text), so that the loaded project can be stored whole (compiler.snapshot);
            # the modules just ran, so resolving a function imports nothing again
            return [
                self._from_records(path, name, display, records[i])
                for i, (path, name, display) in enumerate(self.files)
            ]
        # something a record cannot hold (an annotation teal cannot pass, which the load
        # then reports; a config value that does not pickle): the imported definitions
        declarations = []
        for i, (path, name, display) in enumerate(self.files):
            by_import = found[i]
            if by_import is None:
                declarations.append(self._from_records(path, name, display, records[i]))
            else:
                _, _, assets, checks = by_import
                declarations.append(
                    Declared(
                        path, display, [(d, _source(d)) for _, d in assets], [c for _, c in checks]
                    )
                )
        return declarations

    def _from_records(
        self, path: Path, name: str, display: str, records: dict[str, Any]
    ) -> Declared:
        def build(cls: type, record: dict[str, Any]) -> Any:
            fn = Deferred(
                str(path), name, record["attr"], display, record["func_name"], self.imports
            )
            return cls(fn=fn, annotations=dict(record["annotations"]), **record["fields"])

        return Declared(
            path,
            display,
            [(build(AssetDef, r), r["source_text"]) for r in records["assets"]],
            [build(AssetCheckDef, r) for r in records["checks"]],
        )
