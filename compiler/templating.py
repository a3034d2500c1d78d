"""Render SQL models with Jinja: ``config``, ``ref``, ``source``, ``var``, ``env_var``, ``this``.

``ref('x')`` renders as ``__teal_ref."x"`` and ``source('s', 't')`` as
``__teal_source__s."t"``: markers that the lineage step resolves without ambiguity and then
rewrites to the physical relation. A template without any Jinja syntax is not rendered at
all (most models), which keeps compiling large projects cheap.

>>> r = render_sql("{{ config(materialized='table') }}\\nselect * from {{ ref('a') }}",
...                path="m.sql", this_name="m", vars={})
>>> r.sql.splitlines()[-1], r.config, r.line_of(2)
('select * from __teal_ref."a"', {'materialized': 'table'}, 2)
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from teal.compiler.errors import ProjectError, TemplateError, did_you_mean, line_col
from teal.compiler.sql import quote_identifier as quote_ident

REF_MARKER = "__teal_ref"
SOURCE_MARKER_PREFIX = "__teal_source__"

_JINJA_SYNTAX = re.compile(r"\{[{%#]")


class PartitionValueInJinja(Exception):
    """A template compared a partition value in Jinja, where it is still a placeholder."""


class _Placeholder(str):
    """A partition value as a template sees it: text that renders as the placeholder, and
    refuses to be compared. The model is rendered once for all its partitions, so a Jinja
    condition on ``partition.key`` would test the placeholder, never the partition: its
    branch would silently never (or always) be taken."""

    __hash__ = str.__hash__

    def _refuse(self, *_: object, **__: object) -> Any:
        name = str.removesuffix(str.removeprefix(self, "__teal_partition_"), "__")
        name = name.removeprefix("dim_")
        raise PartitionValueInJinja(
            f"partition.{name} is compared or changed in Jinja, but a model is rendered once "
            "for all its partitions: the value is filled in when each partition's query runs"
        )

    def __bool__(self) -> bool:  # there is a value, whichever partition: not a comparison
        return True

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __contains__ = _refuse
    # what would make another value of it (``| upper``, ``[0]``, ``.startswith``): a
    # comparison of that would test the placeholder's text, and the text would not be filled
    __getitem__ = __iter__ = __len__ = __mod__ = __mul__ = _refuse
    upper = lower = title = capitalize = casefold = swapcase = _refuse
    strip = lstrip = rstrip = replace = removeprefix = removesuffix = _refuse
    startswith = endswith = find = rfind = index = rindex = count = _refuse
    split = rsplit = splitlines = partition = rpartition = format = _refuse
    isdigit = isalpha = isalnum = isnumeric = isdecimal = islower = isupper = _refuse
    zfill = center = ljust = rjust = _refuse


class _PartitionPlaceholders:
    """``{{ partition.start }}`` etc. render as placeholders the runtime fills per partition.

    Quoted (``'{{ partition.start }}'``) they become string literals; bare, an identifier
    that the runtime turns into a typed literal (``TIMESTAMP '...'``).
    """

    key = _Placeholder("__teal_partition_key__")
    start = _Placeholder("__teal_partition_start__")
    end = _Placeholder("__teal_partition_end__")

    def __getattr__(self, dimension: str) -> str:  # partition.region for 2-D partitions
        if dimension.startswith("_"):
            raise AttributeError(dimension)
        return _Placeholder(f"__teal_partition_dim_{dimension}__")

    def __str__(self) -> str:
        return self.key


PARTITION_PLACEHOLDERS = _PartitionPlaceholders()


def uses_partition_vars(text: str) -> bool:
    """Whether a template reads ``partition`` (then it filters its upstreams itself)."""
    return re.search(r"\bpartition\b\s*(\.|}})", text) is not None


def uses_is_incremental(text: str) -> bool:
    return "is_incremental" in text


def is_template(text: str) -> bool:
    """Whether ``text`` contains Jinja syntax (otherwise it is used as it is)."""
    return _JINJA_SYNTAX.search(text) is not None


_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_CONFIG_CALL = re.compile(r"(\{\{|\{%)-?\s*(set\s+\w+\s*=\s*)?config\s*\(")


def config_written_twice(text: str, path: str) -> ProjectError | None:
    """A warning when model ``text`` calls ``config(...)`` more than once: the calls merge,
    the later one's value winning for a key both set, which is easy to miss. Found in the
    text (what rendering ran is cached), located at the second call."""
    if text.count("config") < 2:
        return None
    blanked = _JINJA_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    calls = [m.start() + m.group().rindex("config") for m in _CONFIG_CALL.finditer(blanked)]
    if len(calls) < 2:
        return None
    (first, _), (second, col) = line_col(text, calls[0]), line_col(text, calls[1])
    lines = [first, second]
    return ProjectError(
        f"config() is called twice in this model, on lines {lines[0]} and {lines[1]}: the "
        "calls are merged, and where both set a key the second one's value wins",
        path=path,
        line=lines[1],
        col=col,
        source_line=_source_line(text, lines[1]),
        hint="write one config(...) with every setting",
    )


def _environment() -> Any:
    """A Jinja environment for one render: made per call (a few microseconds, against a
    template's compile of about a millisecond), so no process holds one shared."""
    import jinja2

    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


class _Missing:
    pass


_MISSING = _Missing()


@dataclass
class Rendered:
    """The result of rendering one SQL model."""

    sql: str
    source: str
    config: dict[str, Any] = field(default_factory=dict)
    config_line: int | None = None
    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    _line_map: list[int] | None = None

    def line_of(self, rendered_line: int) -> int:
        """The source line that produced ``rendered_line`` (both 1-based)."""
        if self.sql is self.source or self.sql == self.source:
            return rendered_line
        if self._line_map is None:
            self._line_map = _line_map(self.source, self.sql)
        if 1 <= rendered_line <= len(self._line_map):
            return self._line_map[rendered_line - 1]
        return rendered_line


def _line_map(source: str, rendered: str) -> list[int]:
    """Map each rendered line to a source line, by aligning the two texts line by line."""
    src_lines, out_lines = source.splitlines(), rendered.splitlines()
    mapping = [1] * len(out_lines)
    matcher = difflib.SequenceMatcher(a=src_lines, b=out_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for j in range(j1, j2):
            if tag == "equal":
                mapping[j] = i1 + (j - j1) + 1
            else:
                # inside a changed block: map proportionally onto the source block
                span = max(i2 - i1, 1)
                mapping[j] = min(i1 + (j - j1) * span // max(j2 - j1, 1), max(i2 - 1, i1)) + 1
        if tag == "replace" and i2 - i1 != j2 - j1:
            _match_changed(src_lines, out_lines, (i1, i2, j1, j2), mapping)
    return mapping


# Jinja on a source line, left out when the line is compared with what it rendered to
_JINJA_PARTS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
_MAX_COMPARED = 2500  # line pairs compared in one changed block; beyond: proportional


def _match_changed(
    src: list[str], out: list[str], block: tuple[int, int, int, int], mapping: list[int]
) -> None:
    """Rendered lines ``out[j1:j2]`` that Jinja made of fewer or more source lines
    ``src[i1:i2]`` (a ``{{ config(...) }}`` line gone and the next line changed): each
    maps onto the source line its text is most like, with the Jinja left out, in order.
    A line like none keeps its proportional place."""
    i1, i2, j1, j2 = block
    if (i2 - i1) * (j2 - j1) > _MAX_COMPARED:
        return
    bare = [_JINJA_PARTS.sub("", line).strip() for line in src[i1:i2]]
    low = i1
    for j in range(j1, j2):
        text = out[j].strip()
        best, score = None, 0.5  # at least half alike
        for i in range(low, i2):
            alike = difflib.SequenceMatcher(None, bare[i - i1], text, autojunk=False).ratio()
            if alike > score:
                best, score = i, alike
        if best is not None:
            mapping[j], low = best + 1, best


def _call_line(source: str, pattern: str) -> tuple[int | None, int | None]:
    m = re.search(pattern, source)
    if not m:
        return None, None
    return line_col(source, m.start())


def _source_line(source: str, line: int | None) -> str | None:
    if line is None:
        return None
    lines = source.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def render_sql(
    source: str,
    *,
    path: str,
    this_name: str,
    vars: dict[str, Any],
    make_this: Any = None,
    extra_context: dict[str, Any] | None = None,
    incremental: bool = False,
) -> Rendered:
    """Render one SQL model. Raises TemplateError pointing at the template line.

    ``incremental`` is what ``is_incremental()`` returns: incremental models are rendered
    twice (a full build and an incremental run); the runtime picks the variant.
    ``partition`` renders placeholders (``partition.start`` → ``__teal_partition_start__``)
    that the runtime replaces per partition, so a model is rendered and parsed once, not
    once per partition.
    """
    result = Rendered(sql=source, source=source)
    if not _JINJA_SYNTAX.search(source):
        return result

    def config(*args: Any, **kwargs: Any) -> str:
        if args:
            line, col = _call_line(source, r"config\s*\(")
            raise TemplateError(
                "config() takes keyword arguments only",
                path=path,
                line=line,
                col=col,
                source_line=_source_line(source, line),
                hint="write config(materialized='table')",
            )
        result.config.update(kwargs)
        if result.config_line is None:
            result.config_line, _ = _call_line(source, r"config\s*\(")
        return ""

    def ref(*args: str, **kwargs: Any) -> str:
        # dbt allows ref('package', 'model') and ref('model', version=1); the last name wins
        names = [a for a in args if isinstance(a, str)]
        if not names:
            line, col = _call_line(source, r"ref\s*\(")
            raise TemplateError(
                "ref() needs a model name",
                path=path,
                line=line,
                col=col,
                source_line=_source_line(source, line),
            )
        result.refs.append(names[-1])
        return f"{REF_MARKER}.{quote_ident(names[-1])}"

    def source_fn(source_name: str, table_name: str) -> str:
        result.sources.append((source_name, table_name))
        return f"{SOURCE_MARKER_PREFIX}{source_name}.{quote_ident(table_name)}"

    def var(name: str, default: Any = _MISSING) -> Any:
        if name in vars:
            return vars[name]
        if default is not _MISSING:
            return default
        line, col = _call_line(source, r"(?<![\w.])var\s*\(\s*['\"]" + re.escape(name))
        raise TemplateError(
            f"var('{name}') is not defined",
            path=path,
            line=line,
            col=col,
            source_line=_source_line(source, line),
            hint=did_you_mean(name, vars)
            or f"set it under [vars] in the project config, pass "
            f"--vars '{{{name}: ...}}', or give a default: var('{name}', ...)",
        )

    def env_var(name: str, default: Any = _MISSING) -> Any:
        if name in os.environ:
            return os.environ[name]
        if default is not _MISSING:
            return default
        line, col = _call_line(source, r"env_var\s*\(\s*['\"]" + re.escape(name))
        raise TemplateError(
            f"environment variable {name} is not set",
            path=path,
            line=line,
            col=col,
            source_line=_source_line(source, line),
            hint=f"export {name}=... or give a default: env_var('{name}', ...)",
        )

    context = {
        "config": config,
        "ref": ref,
        "source": source_fn,
        "var": var,
        "env_var": env_var,
        "this": make_this(result.config) if make_this is not None else this_name,
        "model": {"name": this_name},
        "is_incremental": lambda: incremental,
        "partition": PARTITION_PLACEHOLDERS,
        "target": {"name": "default", "type": "duckdb"},
        **(extra_context or {}),
    }
    import jinja2

    env = _environment()
    try:
        code = env.compile(source, name=path, filename=path)
        template = env.template_class.from_code(env, code, env.make_globals(None), None)
        result.sql = template.render(context)
    except TemplateError:
        raise
    except PartitionValueInJinja as exc:
        line = _template_line(exc, path)
        at = re.search(r"\bpartition\.\w+", _source_line(source, line) or "")
        raise TemplateError(
            str(exc),
            path=path,
            line=line,
            col=at.start() + 1 if at else None,
            source_line=_source_line(source, line),
            hint="compare or change it in SQL instead, which runs per partition: "
            "case when upper('{{ partition.key }}') = 'SOUTH' then ... end",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"Jinja syntax error: {exc.message}",
            path=path,
            line=exc.lineno,
            source_line=_source_line(source, exc.lineno),
            hint="check the {{ }} and {% %} tags on this line",
        ) from None
    except Exception as exc:  # noqa: BLE001 - undefined names, errors raised inside the template
        line = _template_line(exc, path)
        message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
        hint = col = None
        if isinstance(exc, jinja2.UndefinedError) and re.match(r"'\w+' is undefined", message):
            undefined = re.match(r"'(\w+)' is undefined", message)
            text = _source_line(source, line) or ""
            name = undefined.group(1) if undefined else None
            hint = "available in templates: " + ", ".join(sorted(context))
            if name and (close := did_you_mean(name, context)):
                hint = f"{close} ({hint})"
            name_at = None
            for tag in re.finditer(r"\{[{%].*?[}%]\}", text) if name else ():
                name_at = re.compile(rf"(?<![\w.'\"]){re.escape(str(name))}\b").search(
                    text, tag.start(), tag.end()
                )
                if name_at:
                    break
            if name_at:
                col = name_at.start() + 1
            if name_at and not text[name_at.end() :].lstrip().startswith("("):
                hint = f"for a project variable write {{{{ var('{name}') }}}}; " + hint
        else:  # the template's own code raised (1/0, an attribute a value lacks, ...)
            tags = list(re.finditer(r"\{[{%].*?[}%]\}", _source_line(source, line) or ""))
            if len(tags) == 1:
                col = tags[0].start() + 1
            what = (
                "an attribute or item it names does not exist"
                if isinstance(exc, jinja2.UndefinedError)
                else f"it raised {type(exc).__name__}"
            )
            hint = f"fix the expression in the {{{{ }}}} or {{% %}} tag on this line: {what}"
        raise TemplateError(
            f"Jinja error: {message}",
            path=path,
            line=line,
            col=col,
            source_line=_source_line(source, line),
            hint=hint,
        ) from None
    return result


def _template_line(exc: BaseException, path: str) -> int | None:
    """The template line of the innermost traceback frame that belongs to ``path``."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__ or sys.exc_info()[2]
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
