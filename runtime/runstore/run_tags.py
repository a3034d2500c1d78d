"""A run's job and tags, kept where the store can filter on them (migration 7).

A run records its job and tags in its config (``config.job``, ``config.tags``: the job's
tags and those given with ``teal build --tag``), which a listing cannot filter on without
parsing every run's JSON, differently on SQLite and Postgres. So the run row keeps its job
in a column (``runs.job``) and each tag is a row of ``run_tags`` (run, key, value),
written in the transaction that adds the run: ``teal runs --job NAME --tag KEY[=VALUE]``
(and the UI's ``/api/runs?job=&tag=``) are indexed lookups.

A tag is ``KEY=VALUE`` or a bare ``NAME`` (as a job's ``tags = ["nightly"]``), kept with
the value ``''``. A filter ``KEY=VALUE`` matches that pair; a bare ``KEY`` matches the tag
``KEY`` with any value or none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from teal.compiler.errors import SelectionError

if TYPE_CHECKING:
    from teal.runtime.runstore.records import JsonValue
    from teal.runtime.runstore.sqlstore import Cursor, SqlRunStore

TAG_HINT = "write KEY=VALUE (team=finance) or a bare NAME (nightly)"
MAX_KEY, MAX_VALUE = 100, 500  # a tag is a label, not a document


def split_tag(text: str) -> tuple[str, str]:
    """A tag's key and value (``''`` for a bare name).

    >>> split_tag("team=finance"), split_tag("nightly"), split_tag("url=a=b")
    (('team', 'finance'), ('nightly', ''), ('url', 'a=b'))
    """
    key, _, value = text.partition("=")
    return key, value


def check_tag(text: str, path: str = "--tag") -> str:
    """``text`` if it is a tag (``KEY=VALUE`` or ``NAME``); a usage error naming ``path``
    otherwise.

    >>> check_tag("team=finance")
    'team=finance'
    >>> check_tag("team=")
    Traceback (most recent call last):
    ...
    teal.compiler.errors.SelectionError: --tag: 'team=' gives no value after '='
      hint: write team=VALUE, or team alone for a tag without a value
    """
    key, eq, value = text.partition("=")
    problem, hint = None, TAG_HINT
    if not key.strip():
        problem = "has no key before '='" if eq else "is empty"
    elif any(c.isspace() for c in key):
        problem = f"has a space in its key {key!r}"
    elif eq and not value:
        problem = "gives no value after '='"
        hint = f"write {key}=VALUE, or {key} alone for a tag without a value"
    elif any(not c.isprintable() and c != " " for c in value):
        problem = "has a line break or control character in its value"
    elif len(key) > MAX_KEY or len(value) > MAX_VALUE:
        problem = f"is too long (keys up to {MAX_KEY} characters, values up to {MAX_VALUE})"
    if problem is not None:
        raise SelectionError(f"{text!r} {problem}", path=path, hint=hint)
    return text


def with_tags(job_tags: Sequence[str], given: Sequence[str]) -> tuple[str, ...]:
    """A run's tags: its job's, then those given (checked), a given tag replacing the
    job's tag of the same key, each once.

    >>> with_tags(["nightly", "team=data"], ["team=ml", "note=after outage", "nightly"])
    ('nightly', 'team=ml', 'note=after outage')
    """
    checked = [check_tag(t) for t in given]
    keys = {split_tag(t)[0] for t in checked}
    kept = [t for t in job_tags if split_tag(t)[0] not in keys]
    return tuple(dict.fromkeys([*kept, *checked]))


def job_and_tags(config: Mapping[str, JsonValue]) -> tuple[str | None, list[tuple[str, str]]]:
    """The job and the (key, value) tags a run's config records."""
    job = config.get("job")
    tags = config.get("tags")
    pairs = [split_tag(t) for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    return (job if isinstance(job, str) else None), list(dict.fromkeys(pairs))


def insert_tags(store: SqlRunStore, cur: Cursor, run_id: str, pairs: list[tuple[str, str]]) -> None:
    """A run's tag rows (in the transaction that adds it)."""
    for key, value in pairs:
        cur.execute(
            store._sql(
                "INSERT INTO run_tags (run_id, tag_key, tag_value) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING"
            ),
            (run_id, key, value),
        )


def filters(job: str | None, tags: Sequence[str]) -> tuple[list[str], list[object]]:
    """The conditions on ``runs`` keeping the runs of ``job`` with every tag of ``tags``
    (``KEY=VALUE``, or ``KEY``: that key with any value), and their parameters.

    >>> filters("nightly", ["team=data", "adhoc"])[1]
    ['nightly', 'team', 'data', 'adhoc']
    """
    where: list[str] = []
    params: list[object] = []
    if job is not None:
        where.append("job = ?")
        params.append(job)
    for tag in tags:
        key, value = split_tag(tag)
        if "=" in tag:
            where.append(
                "run_id IN (SELECT run_id FROM run_tags WHERE tag_key = ? AND tag_value = ?)"
            )
            params += [key, value]
        else:
            where.append("run_id IN (SELECT run_id FROM run_tags WHERE tag_key = ?)")
            params.append(key)
    return where, params


def backfill(store: SqlRunStore, cur: Cursor) -> None:
    """Migration 7's rows for the runs recorded before it: each run's job and tags, read
    from its config (only a config naming a job or tags is parsed)."""
    cur.execute(
        store._sql(
            "SELECT run_id, run_config FROM runs WHERE run_config LIKE ? OR run_config LIKE ?"
        ),
        ('%"job"%', '%"tags"%'),
    )
    for run_id, text in cur.fetchall():
        try:
            config = json.loads(text or "{}")
        except ValueError:  # not written by teal: nothing to read
            continue
        job, pairs = job_and_tags(config if isinstance(config, dict) else {})
        if job is not None:
            cur.execute(store._sql("UPDATE runs SET job = ? WHERE run_id = ?"), (job, run_id))
        insert_tags(store, cur, run_id, pairs)
