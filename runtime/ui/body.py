"""Reading the JSON body of a request that changes something: only the keys an endpoint
takes (a misspelt ``select`` would otherwise plan, and launch, every model), flags that
are JSON true or false, and names as text or lists of text."""

from __future__ import annotations

from typing import Any

from teal.compiler.errors import SelectionError, did_you_mean


def known_keys(body: dict[str, Any], known: tuple[str, ...]) -> None:
    """A key the endpoint does not take is refused, with the closest it takes."""
    for key in body:
        if key not in known:
            raise SelectionError(
                f"unknown key '{key}'",
                path=key,
                hint=did_you_mean(key, known) or "known: " + (", ".join(known) or "none"),
            )


def flag(body: dict[str, Any], key: str, default: bool) -> bool:
    """A JSON true or false (the text "false" is refused, not taken as true)."""
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise SelectionError(f"'{key}' must be true or false, got {value!r}", path=key)
    return value


def names(body: dict[str, Any], key: str) -> list[str]:
    """Text split at spaces, or a list of text; [] when absent."""
    value = body.get(key) or []
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SelectionError(f"'{key}' must be text or a list of text", path=key)
    return [v for v in value if v.strip()]


def text(body: dict[str, Any], key: str) -> str | None:
    """Text, or None when absent or empty."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SelectionError(f"'{key}' must be text, got {value!r}", path=key)
    return value
