"""dbt's pre-hooks and post-hooks of a model (``pre_hook``/``post_hook`` in ``config()``,
``pre-hook``/``post-hook`` in YAML ``config:`` and ``dbt_project.yml``).

As in dbt, hooks accumulate rather than override: those of ``dbt_project.yml`` (outer folder
first), then the YAML entry's, then the model's own ``config()``; each may be a string, a
list, or ``{sql: ..., transaction: ...}``. They are kept as written while configs settle
(``dbt_project.yml`` values are otherwise rendered at once: a hook's ``{{ this }}`` must
wait for its model) and rendered with the model's context when the model compiles, so
``{{ this }}`` is the model's relation. runtime/model_hooks.py runs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.nodes import position
from teal.compiler.errors import ProjectError, TealError
from teal.compiler.model_config import merge_config

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader
    from teal.compiler.dbt.nodes import Node

# every spelling -> the key the settled config keeps
HOOK_KEYS = {
    "pre-hook": "pre-hook",
    "pre_hook": "pre-hook",
    "post-hook": "post-hook",
    "post_hook": "post-hook",
}


def merge_dbt_config(into: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """teal's config merge (compiler/config.py), with dbt's hooks appended, not replaced."""
    rest: dict[str, Any] = {}
    for key, value in new.items():
        name = HOOK_KEYS.get(str(key))
        if name is None:
            rest[key] = value
            continue
        # the same hook found twice (a model rendered twice to find both branches'
        # refs makes its config() calls twice) runs once
        into[name] = list(dict.fromkeys([*into.get(name, []), *hook_texts(value)]))
    return merge_config(into, rest)


def hook_texts(value: Any) -> list[str]:
    """A hook setting as a list of SQL templates (``transaction:`` is not used: see
    docs/dbt.md for where hooks run)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("sql")
        if item is None:
            continue
        text = str(item).strip()
        if text:
            out.append(text)
    return out


def hook_refs(
    loader: DbtLoader, node: Node, texts: list[str] | None = None
) -> list[tuple[str, str | None]]:
    """The models ``node``'s hooks (or ``texts``, hooks rendered for ``node``) ``ref()``,
    found by rendering them as SQL is parsed (``execute`` false): dbt counts a model's
    among its dependencies, so a hook reading another model runs after that model is
    built (and, under ``--defer``, reads it where the model's SQL would). A hook that does
    not render here is reported when it is rendered for its model
    (:func:`render_model_hooks`), not twice."""
    state = loader.jinja.state
    before = state.node
    if texts is None:
        texts = [t for key in ("pre-hook", "post-hook") for t in node.config.get(key) or []]
    found: list[tuple[str, str | None]] = []
    state.node = node
    try:
        for text in texts:
            state.refs = []
            try:
                loader.jinja.render(loader.jinja.template(text, node.display), node.display, text)
            except TealError:
                continue
            found += [r for r in state.refs if r not in found]
    finally:
        state.node, state.refs = before, []
    return found


def render_model_hooks(loader: DbtLoader, node: Node) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A model's (pre-hooks, post-hooks) rendered with the model as ``this``; empty ones
    (a hook that only logs or sets a variable) are dropped."""
    rendered: dict[str, list[str]] = {"pre-hook": [], "post-hook": []}
    state = loader.jinja.state
    for key, texts in rendered.items():
        for i, text in enumerate(node.config.get(key) or []):
            state.node, state.incremental = node, False
            try:
                sql = loader.jinja.render(
                    loader.jinja.template(text, node.display), node.display, text
                ).strip()
            except TealError as exc:  # located where the model sets it, if it does
                where = position(node.raw, key.replace("-", "[-_]"))
                raise ProjectError(
                    f"{key} {i + 1} of model '{node.name}' does not render: {exc.message}",
                    path=node.display if where else (node.yaml_display or node.display),
                    line=where[0] if where else None,
                    col=where[1] if where else None,
                    hint=exc.hint,
                ) from None
            finally:
                state.node = None
            if sql:
                texts.append(sql)
    return tuple(rendered["pre-hook"]), tuple(rendered["post-hook"])
