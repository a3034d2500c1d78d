"""The first stage of a load: which files make up the project, and the model each claims.

A project's models are the SQL, Python and YAML files under its models folder, outside
hidden and ``_`` folders (and not hidden files, nor ``_``-prefixed Python helpers), taken
in path order. A SQL file is the model named by its file; a Python file declares assets by
name. Each name is claimed once across the project, case-insensitively. A file that looks
meant to be one of them but is not read (``Upper.SQL``, ``x.sqll``: dbt, too, reads
``.sql`` only) is a warning.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from teal.compiler.errors import ProjectError
from teal.compiler.snapshot import INPUT_SUFFIXES, input_files, near_input


@dataclass(frozen=True)
class ProjectFiles:
    """The model files of a project, each kind in path order."""

    sql: tuple[Path, ...] = ()
    python: tuple[Path, ...] = ()
    yaml: tuple[Path, ...] = ()
    # files that look meant to be one of those but are not read (compiler.snapshot.near_input)
    skipped: tuple[Path, ...] = ()


def discover(models_dir: Path, contents: Mapping[str, bytes] | None = None) -> ProjectFiles:
    """The SQL, Python and YAML files under ``models_dir``.

    ``contents`` holds the files the snapshot key already read (compiler.snapshot), by
    path: when given, the files are taken from it rather than walked again. Both come from
    the same walk (regular files and links to them, no linked folders), so they agree.
    """
    top = str(models_dir) + os.sep
    paths: Iterable[str] = contents or (path for path, _ in input_files(str(models_dir)))
    found: list[tuple[list[str], str]] = []
    for path in paths:
        if not path.startswith(top):
            continue
        parts = path[len(top) :].split(os.sep)
        if any(p.startswith((".", "_")) for p in parts[:-1]) or parts[-1].startswith("."):
            continue
        found.append((parts, path))
    sql: list[Path] = []
    python: list[Path] = []
    yaml: list[Path] = []
    skipped: list[Path] = []
    for parts, path in sorted(found):  # part by part, as Paths sort
        suffix = os.path.splitext(parts[-1])[1]
        if suffix == ".sql":
            sql.append(Path(path))
        elif suffix == ".py" and not parts[-1].startswith("_"):
            python.append(Path(path))
        elif suffix in (".yml", ".yaml"):
            yaml.append(Path(path))
        elif suffix not in INPUT_SUFFIXES and near_input(parts[-1]):
            skipped.append(Path(path))
    return ProjectFiles(tuple(sql), tuple(python), tuple(yaml), tuple(skipped))


def skipped_files(files: ProjectFiles, root: Path) -> list[ProjectError]:
    """A warning for each file that looks meant to be a model or a YAML file but is not
    read (its model would be missing, silently)."""
    from teal.compiler.errors import did_you_mean

    out = []
    for path in files.skipped:
        meant = did_you_mean(path.suffix.lower(), (".sql", ".py", ".yml", ".yaml"), n=1)
        better = meant.split("'")[1] if meant else ".sql"
        out.append(
            ProjectError(
                "this file is skipped: model files end in .sql or .py, YAML files in .yml "
                "or .yaml, in lower case (as dbt reads them)",
                path=display_path(root, path),
                hint=f"rename it {path.stem}{better}",
            )
        )
    return out


def read_sql_text(path: Path, contents: Mapping[str, bytes], display: str | None = None) -> str:
    """A SQL file's text, as ``read_text`` gives it (UTF-8, universal newlines), from the
    bytes the snapshot key read when it read them. A file that is not UTF-8 is a
    :class:`ProjectError` at the first byte that is not (``display``: its path in messages)."""
    data = contents.get(str(path))
    if data is None:
        data = path.read_bytes()
    text = decode_utf8(data, display or str(path))
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def decode_utf8(data: bytes, display: str) -> str:
    """``data`` as UTF-8 text, or a located error naming the first byte that is not.

    >>> decode_utf8(b"select 1 -- caf\\xe9", "a.sql")
    Traceback (most recent call last):
    ...
    teal.compiler.errors.ProjectError: a.sql:1:16: the file is not UTF-8: byte 0xe9 at offset 15
      hint: save it as UTF-8 (teal reads every model, YAML and config file as UTF-8)
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ProjectError(
            f"the file is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            path=display,
            line=line,
            col=col,
            hint="save it as UTF-8 (teal reads every model, YAML and config file as UTF-8)",
        ) from None


def display_path(root: Path, path: Path) -> str:
    """``path`` as messages show it: relative to the project root when inside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


class ModelNames:
    """The model names claimed so far, each once across the project (case-insensitively)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, int | None]] = {}  # name -> (display path, line)
        self._claimed: dict[str, str] = {}  # lower-case name -> name

    def claim(self, name: str, display: str, line: int | None) -> ProjectError | None:
        """Claim ``name`` for the model defined at ``display:line``; the error to report if
        another file claimed it first."""
        existing = self._claimed.get(name.lower())
        if existing is not None:
            other, other_line = self.files[existing]
            where = f"{other}:{other_line}" if other_line else other
            return ProjectError(
                f"model name '{name}' is defined twice: in {where} and in {display}",
                path=display,
                line=line,
                hint="model names are unique across the project; rename one of them",
            )
        self._claimed[name.lower()] = name
        self.files[name] = (display, line)
        return None

    def by_lower_name(self) -> dict[str, str]:
        """Lower-case name -> name, for resolving references."""
        return {name.lower(): name for name in self.files}


def unmatched_folders(
    folders: Iterable[str], models_dir: Path, files: ProjectFiles, config_path: Path, root: Path
) -> list[ProjectError]:
    """A warning for each ``[folders.X]`` of the project file that holds no model file (a
    misspelt folder's config would otherwise apply to nothing, silently)."""
    from teal.compiler.errors import did_you_mean
    from teal.compiler.toml_lines import key_line

    held: set[str] = set()  # every folder, and each folder above it, that holds a model
    for path in (*files.sql, *files.python):
        parts = path.relative_to(models_dir).parts[:-1]
        held.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    out = []
    for folder in folders:
        if folder and folder not in held:
            out.append(
                ProjectError(
                    f"[folders.{folder}] matches no folder of models under "
                    f"{display_path(root, models_dir)}: its config is ignored",
                    path=display_path(root, config_path),
                    line=key_line(config_path, folder),
                    hint=did_you_mean(folder, held) or "folders are paths under the models folder",
                )
            )
    return out


def project_folders(root: Path) -> list[str]:
    """The folders at the top of the project at ``root`` (hidden ones left out): what a
    misspelt folder in the project's settings may mean."""
    return [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]


def missing_check_folders(
    check_paths: Iterable[str], config_path: Path, root: Path
) -> list[ProjectError]:
    """A warning for each folder ``check_paths`` names that is not there (a misspelt
    folder's checks would otherwise not run, silently); the default, ``checks``, may be
    absent."""
    from teal.compiler.errors import did_you_mean
    from teal.compiler.toml_lines import key_line

    missing = [f for f in check_paths if f != "checks" and not (root / f).is_dir()]
    if not missing:  # the usual case: the project's folders are not listed
        return []
    here = project_folders(root)
    return [
        ProjectError(
            f"check_paths names '{folder}', which is not a folder of the project: "
            "no checks are read from it",
            path=display_path(root, config_path),
            line=key_line(config_path, "check_paths"),
            hint=did_you_mean(folder, here) or "create the folder, or remove it from check_paths",
        )
        for folder in missing
    ]
