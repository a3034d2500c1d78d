"""A warning for ``BETWEEN ... AND {{ partition.end }}`` in a partitioned model.

``{{ partition.end }}`` is the next partition's start: a window is ``start <= x < end``.
SQLMesh's ``@end_ds`` is the last day inside the range, so ``BETWEEN @start_ds AND
@end_ds`` ported as ``BETWEEN {{ partition.start }} AND {{ partition.end }}`` also takes
the rows at the next partition's start (every row of the next day, for a DATE column),
and the partition fails its stray rows when it runs. Found in the template's text, as
teal finds ``config()`` called twice, so it is located at the ``{{ partition.end }}``.
"""

from __future__ import annotations

import re

from teal.compiler.errors import ProjectError, line_col

# BETWEEN, then anything up to its AND on the same statement, then the end placeholder
# (quoted or not); neither a semicolon nor another BETWEEN in between
_BETWEEN_END = re.compile(
    r"\bbetween\b(?:(?!\bbetween\b)[^;])*?\band\s+'?(\{\{-?\s*partition\.end\s*-?\}\})",
    re.IGNORECASE,
)


def between_partition_end(text: str, path: str) -> ProjectError | None:
    r"""A warning, located at the placeholder, when ``text`` compares with ``BETWEEN ...
    AND {{ partition.end }}``, which includes the next partition's first instant.

    >>> found = between_partition_end(
    ...     "select * from t\nwhere d between {{ partition.start }} and {{ partition.end }}", "m.sql"
    ... )
    >>> (found.line, found.col)
    (2, 43)
    >>> between_partition_end("where d >= {{ partition.start }} and d < {{ partition.end }}", "m")
    """
    found = _BETWEEN_END.search(text)
    if found is None:
        return None
    line, col = line_col(text, found.start(1))
    return ProjectError(
        "BETWEEN ... AND {{ partition.end }} also takes the rows at the next partition's "
        "start: partition.end is exclusive (SQLMesh's @end_ds is inclusive), and those rows "
        "fail this partition",
        path=path,
        line=line,
        col=col,
        source_line=text.splitlines()[line - 1],
        hint="compare with `x >= {{ partition.start }} and x < {{ partition.end }}`",
    )
