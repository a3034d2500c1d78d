"""What a plan restricted by a selection does not rebuild first, said beside the step.

``teal plan`` rebuilds every model, so a partitioned model reading one that is rebuilt
with other data (a Python asset whose vars changed) is stale: ``upstream events rebuilt
first``. ``teal plan -s daily_amount`` does not rebuild ``events``, and the same model is
up to date with what it reads now. Both are true, and the second says why they differ: a
partitioned step of a plain build names the upstreams it reads (directly, or through
views and ephemeral models) that are not selected and that a build of them would change,
``all partitions up to date; upstream events is out of date and not selected, so it is
not rebuilt first (-s +daily_amount selects it)``.

Out of date: a partitioned upstream with partitions a plain build would build (missing,
failed or stale), an unpartitioned one never built or whose version a build now would
differ from the recorded one, a view whose code is not the code it was made with. Only
what the model reads is looked at, not what those upstreams read in turn (that would cost
the plan of every ancestor; an upstream reading a selected model rebuilt anew is out of
date itself).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teal.compiler.plan import PlanContext
    from teal.compiler.versions import DataVersions

# upstream -> whether it is out of date, kept for the plan (many steps read one upstream)
Known = dict[str, bool]


def unselected_note(
    name: str,
    planned: Collection[str],
    ctx: PlanContext,
    versions: DataVersions,
    outdated: Callable[[str], bool],
    known: Known,
) -> str:
    """``; upstream events is out of date and not selected, so it is not rebuilt first
    (-s +daily_amount selects it)``, or "" when every upstream ``name`` reads is in
    ``planned`` (the models the plan has steps for) or up to date. ``outdated(up)``:
    whether partitioned ``up`` has partitions a plain build builds."""
    from teal.compiler.view_partitions import LOOKED_THROUGH

    models = ctx.project.models
    found: list[str] = []
    seen: set[str] = set()
    stack = sorted(models[name].upstreams, reverse=True)  # popped in name order
    while stack:
        up = stack.pop()
        if up in seen or up in planned:
            continue
        seen.add(up)
        model = models[up]
        if model.partitions is None and model.materialized in LOOKED_THROUGH:
            stack.extend(sorted(model.upstreams, reverse=True))  # what it shows
        if up not in known:
            known[up] = _out_of_date(up, ctx, versions, outdated)
        if known[up]:
            found.append(up)
    if not found:
        return ""
    if len(found) == 1:
        said = f"upstream {found[0]} is out of date and not selected, so it is"
    else:
        said = f"upstreams {', '.join(found)} are out of date and not selected, so they are"
    return f"; {said} not rebuilt first (-s +{name} selects {'it' if len(found) == 1 else 'them'})"


def _out_of_date(
    name: str, ctx: PlanContext, versions: DataVersions, outdated: Callable[[str], bool]
) -> bool:
    model = ctx.project.models[name]
    if model.partitions is not None:
        return outdated(name)
    if model.materialized == "ephemeral":  # inlined: what it reads is looked at
        return False
    rec = ctx.state.models.get(name)
    if rec is None:
        return True  # never built (or dropped from the state)
    if not rec.data_version:  # recorded before versions: taken as up to date
        return False
    # a view's readers see its code now once it is made again; a table's, its new data
    return versions.expected(name) != versions.current(name)
