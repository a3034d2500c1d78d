"""One failing row of a check, as a build or `teal check` prints it: ``column=value``
pairs in the query's column order, each value cut to a readable width, the whole line
within about 100 columns.

A row whose pairs do not all fit keeps the check's own columns (the ones it tests) and as
many of the others as fit, in the query's order, and says how many it left out:

>>> format_sample({"id": 7, "email": None, "note": "x" * 40}, width=60)
'id=7  email=NULL  note=xxxxxxxxxxxxxxxxxxxxxxx…'
>>> row = {f"c{i}": "v" * 10 for i in range(9)}
>>> format_sample(row, keep=("c8",), width=60)
'c0=vvvvvvvvvv  c8=vvvvvvvvvv  (+7 more columns)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# a value (or a column name) longer than this is cut, ending in an ellipsis
VALUE_WIDTH = 24
# what the printed line (its indentation and prefix included) should fit in
LINE_WIDTH = 100
# what a build prints before a check's failing row (the UI shows it after ``e.g.`` too)
SAMPLE_PREFIX = "      e.g. "
_GAP = "  "


def format_sample(
    row: Mapping[str, object],
    keep: Sequence[str] = (),
    width: int = LINE_WIDTH - len(SAMPLE_PREFIX),
) -> str:
    """``row`` as ``column=value`` pairs within ``width`` characters (the default leaves
    room for ``SAMPLE_PREFIX`` before it); ``keep``: columns shown even
    when others are left out (matched without regard to case or quotes)."""
    pairs = [f"{_cut(str(name))}={_value(value)}" for name, value in row.items()]
    if len(_GAP.join(pairs)) <= width:
        return _GAP.join(pairs)
    wanted = {k.strip('"').lower() for k in keep}
    must = [i for i, name in enumerate(row) if str(name).lower() in wanted]
    chosen = set(must)
    for i in range(len(pairs)):  # the others in order, while they and the note fit
        if i in chosen:
            continue
        trial = chosen | {i}
        left = len(pairs) - len(trial)
        if _width(pairs, trial) + len(_more(left)) > width:
            break
        chosen = trial
    shown = [pairs[i] for i in sorted(chosen)]
    return _GAP.join([*shown, _more(len(pairs) - len(chosen))])


def _more(left: int) -> str:
    return f"(+{left} more column{'s' if left != 1 else ''})" if left else ""


def _width(pairs: list[str], chosen: set[int]) -> int:
    """The width of the chosen pairs with their gaps, and the gap before the note."""
    return sum(len(pairs[i]) for i in chosen) + len(_GAP) * len(chosen)


def _value(value: object) -> str:
    """A value as SQL people read it: NULL, true/false, text unquoted unless quoting is
    what shows where it starts and ends."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and (
        not text or text != text.strip() or _GAP in text or any(c in text for c in "\n\r\t")
    ):
        text = repr(text)
    return _cut(text)


def _cut(text: str) -> str:
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
