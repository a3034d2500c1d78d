"""Where a Python asset's parameter is written: for an error about that parameter, which
would otherwise point at the ``@teal.asset`` line above a long signature.

Read only when such an error is raised: the file is parsed again with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path


def param_position(path: Path, at_line: int | None, param: str) -> tuple[int, int, str] | None:
    """(line, col, the line's text) of parameter ``param`` of the function defined or
    decorated at ``at_line`` in ``path``; None when it cannot be found.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
    ...     _ = f.write("@asset\\ndef a(\\n    context,\\n    ordrs: int,\\n):\\n    pass\\n")
    >>> param_position(Path(f.name), 1, "ordrs")
    (4, 5, '    ordrs: int,')
    """
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError):
        return None
    lines = text.splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        starts = {node.lineno, *(d.lineno for d in node.decorator_list)}
        if at_line not in starts:
            continue
        args = node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if arg.arg == param and arg.lineno <= len(lines):
                return arg.lineno, arg.col_offset + 1, lines[arg.lineno - 1]
    return None
