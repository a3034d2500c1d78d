"""dbt's ``--state DIR`` for tests: each test of the project compared with its node in
DIR/manifest.json, so that ``state:new`` and ``state:modified`` select a test that is new
or changed itself, not only through the node it tests (compiler/test_selection.py).

What "changed" means is dbt-core's (``GenericTestNode.same_contents``,
``ParsedNode.same_contents``, ``UnitTestDefinition.same_contents`` and the state selector's
macro check):

- a test is **new** when the old manifest has no node of its ``unique_id``. A generic
  test's id hashes its arguments (compiler/dbt/test_ids.py), so a changed argument
  (another accepted value) makes a new test, and the old one is gone;
- a generic test is **modified** when its config (severity, where, limit, fail_calc,
  warn_if, error_if, store_failures, enabled) or its ``fqn`` (the folder of its YAML file)
  differs, or the test's macro, or a macro it calls, changed (dbt's own built-in macros
  are not compared: compiler/dbt/macro_state.py). Its checksum is empty in dbt's manifest,
  so its SQL counts only through its macro;
- a singular test also when its file's checksum differs (dbt's ``same_body``);
- a unit test when what it gives, expects or overrides differs (dbt's checksum of them).

dbt compares the configs as written (``unrendered_config``); teal compares them as they
apply, as it does for models (compiler/dbt/state.py): a default written out where it was
left unset before does not count.

The sub-selectors of ``state:modified`` select a test as dbt's do: ``modified.body`` a
singular test whose file changed, ``modified.configs`` one whose config did,
``modified.macros`` one whose test macro (or a macro it calls) did; a new test every
sub-selector but ``modified.macros`` (which selects it when its macro changed). A test has
no relation, persisted description or contract of its own to compare, and a unit test no
sub-selector selects (dbt's ``UnitTestDefinition`` has none of the comparisons).

>>> old = {"test.p.t.1": {"config": {"severity": "ERROR"}, "fqn": ["p", "t"]}}
>>> entry = {"unique_id": "test.p.t.1", "config": {"severity": "error"}, "fqn": ["p", "t"]}
>>> compare_tests({"t": entry}, old)[0]
{'t': 'unmodified'}
>>> compare_tests({"t": {**entry, "config": {"severity": "warn"}}}, old)
({'t': 'modified'}, {'t': frozenset({'configs'})})
>>> compare_tests({"u": {**entry, "unique_id": "test.p.u.2"}}, old)[0]
{'u': 'new'}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.macro_state import changed_macros, reaches_changed
from teal.compiler.dbt.state import ASPECTS

if TYPE_CHECKING:
    from teal.compiler.project import Project

# a test's configs that change what it checks or how its result counts, with the value
# that means unset (dbt writes its defaults; teal's manifest wrote them too)
TEST_CONFIGS: dict[str, object] = {
    "enabled": True,
    "severity": "error",
    "where": None,
    "limit": None,
    "fail_calc": "count(*)",
    "warn_if": "!= 0",
    "error_if": "!= 0",
    "store_failures": None,
}


def compare_tests(
    entries: dict[str, dict[str, Any]],
    old_nodes: dict[str, Any],
    old_unit_tests: dict[str, Any] | None = None,
    macros: dict[str, Any] | None = None,
    old_macros: dict[str, Any] | None = None,
) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Each test's state ("new" | "modified" | "unmodified") by check name against the old
    manifest's ``nodes`` and ``unit_tests``, and the sub-selectors that select it
    (``entries``: the tests' manifest entries as teal writes them, by check name;
    ``macros``: this load's, compared with ``old_macros``)."""
    macros = macros or {}
    changed = changed_macros(macros, old_macros) if old_macros is not None else set()
    states: dict[str, str] = {}
    aspects: dict[str, frozenset[str]] = {}
    for name, entry in entries.items():
        uid = entry["unique_id"]
        if entry.get("resource_type") == "unit_test":
            before = (old_unit_tests or {}).get(uid)
            if not isinstance(before, dict):
                states[name] = "new"
            else:
                states[name] = "unmodified" if _same_unit_test(before, entry) else "modified"
            aspects[name] = frozenset()
            continue
        used = list((entry.get("depends_on") or {}).get("macros") or [])
        by_macros = bool(changed) and reaches_changed(used, macros, changed)
        old = old_nodes.get(uid)
        if not isinstance(old, dict):
            states[name] = "new"
            aspects[name] = frozenset(a for a in ASPECTS if a != "macros" or by_macros)
            continue
        differs = {
            "configs": _config_differs(old.get("config") or {}, entry.get("config") or {}),
            "body": _body_differs(old, entry),
            "macros": by_macros,
        }
        aspects[name] = frozenset(k for k, v in differs.items() if v)
        moved = list(old.get("fqn") or []) != list(entry.get("fqn") or [])
        states[name] = "modified" if aspects[name] or moved else "unmodified"
    return states, aspects


def _normal(key: str, value: object) -> object:
    """A config value as compared: unset as its default, dbt's spellings as one
    (``!=0`` / ``!= 0``, ``ERROR`` / ``error``, ``store_failures: false`` / unset)."""
    if value is None or (key == "store_failures" and value is False):
        value = TEST_CONFIGS[key]
    if key == "severity" and isinstance(value, str):
        return value.lower()
    if key in ("warn_if", "error_if", "fail_calc") and isinstance(value, str):
        return "".join(value.split())
    return value


def _config_differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return any(_normal(k, old.get(k)) != _normal(k, new.get(k)) for k in TEST_CONFIGS)


def _body_differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A singular test's file changed: its checksums differ (a generic test's are empty in
    both manifests, dbt's ``none``)."""
    before = (old.get("checksum") or {}).get("checksum") or ""
    after = (new.get("checksum") or {}).get("checksum") or ""
    return bool(before and after) and before != after


def _same_unit_test(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """dbt's unit test checksum covers its model, versions, given, expect and overrides
    (not its description); compared here as written, dbt's defaults filled in."""

    def fixture(part: object) -> tuple[object, ...]:
        got = part if isinstance(part, dict) else {}
        return (
            got.get("input"),
            got.get("rows"),
            got.get("format") or "dict",
            got.get("fixture"),
        )

    def key(entry: dict[str, Any]) -> tuple[object, ...]:
        return (
            entry.get("model"),
            entry.get("versions"),
            [fixture(g) for g in entry.get("given") or []],
            fixture(entry.get("expect")),
            entry.get("overrides") or None,
        )

    return key(old) == key(new)


def compared_tests(
    project: Project, old: dict[str, dict[str, Any]]
) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Each test's state against the old manifest ``old`` (compiler/dbt/state.py's
    read_manifest), and what differs, its entry taken from the manifest teal writes for
    ``project``."""
    from teal.compiler.dbt.manifest import manifest, test_unique_id

    written = manifest(project)
    by_id = {**written["nodes"], **written["unit_tests"]}
    entries = {
        name: by_id[uid]
        for name in project.checks
        if (uid := test_unique_id(project, name)) in by_id
    }
    return compare_tests(
        entries, old["nodes"], old["unit_tests"], project.dbt_macros, old["macros"]
    )
