"""An error raised inside a macro (``exceptions.raise_compiler_error``, a Jinja error in
its body) located where dbt locates it: the macro file's line of the raising call, with
the node that called it, and its line, as context.

Jinja rewrites a render's traceback so that each template frame carries the template's
name (the file's display path) and line; the innermost frame of a macro file is the place.
"""

from __future__ import annotations

from typing import Any

from teal.compiler.errors import TemplateError


def in_macro(
    exc: BaseException, files: list[Any], display: str, source: str, message: str
) -> TemplateError | None:
    """``message`` located at the innermost frame of ``exc`` in a macro file of the project
    or its packages (None: it was not raised inside one of ``files``,
    compiler/dbt/context.py's MacroFile records; teal's built-ins are not looked at). ``display``
    and ``source`` are the node's, for the line that called the macro."""
    texts = {f.display: f.text for f in files}
    place = called = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in texts and not name.startswith("<"):  # not teal's own built-ins: a
            place = (name, tb.tb_lineno)  # user's macro file, where the mistake can be
        elif name == display:
            called = tb.tb_lineno
        tb = tb.tb_next
    if place is None:
        return None
    path, line = place
    where = f"{display}:{called}" if called else display
    call = source_line(source, called)
    return TemplateError(
        message,
        path=path,
        line=line,
        source_line=source_line(texts[path], line),
        hint=f"in a macro that {where} calls" + (f": {call.strip()}" if call else ""),
    )


def template_line(exc: BaseException, display: str) -> int | None:
    """The line of the innermost frame of the template ``display`` (its call of a macro
    whose own code failed, when it was a macro)."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == display:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def source_line(text: str, line: int | None) -> str | None:
    """Line ``line`` (1-based) of ``text``; None when there is none."""
    lines = text.splitlines()
    return lines[line - 1] if line and 0 < line <= len(lines) else None
