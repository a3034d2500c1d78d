"""YAML properties files (compiler/yamlfile.py): libyaml composes the nodes and teal walks
them into mappings that know where each key and value is. The values must be what
PyYAML's safe loader gives, whatever the document; the positions are what error messages
point at."""

from __future__ import annotations

import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from teal.compiler.errors import ProjectError, TealError
from teal.compiler.yamlfile import LineDict, LineList, parse_yaml

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
    st.sampled_from(["yes", "no", "~", "null", "1e3", "0x1f", "2026-01-01", "<<", "on", ""]),
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2200, 1, 1)),
)
keys = st.one_of(st.text(max_size=8), st.integers(min_value=-5, max_value=5), st.booleans())
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(documents, st.booleans())
def test_values_are_what_the_safe_loader_gives(document: object, flow: bool) -> None:
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    assert parse_yaml(text, "props.yml") == yaml.safe_load(text)


def test_mappings_and_lists_know_their_lines_and_columns() -> None:
    text = (
        "models:\n"
        "  - name: orders\n"
        "    tags: [daily, finance]\n"
        "    columns:\n"
        "      - name: id\n"
        "        tests:\n"
        "          - not_null\n"
        "          - unique\n"
    )
    data = parse_yaml(text, "props.yml")
    assert isinstance(data, LineDict) and data.line == 1
    model = data["models"][0]
    assert model.line == 2
    assert model.keys_at == {"name": (2, 5), "tags": (3, 5), "columns": (4, 5)}
    assert model.values_at["tags"] == (3, 11)
    tests = model["columns"][0]["tests"]
    assert isinstance(tests, LineList) and tests == ["not_null", "unique"]
    assert tests.lines == [7, 8]


def test_anchors_aliases_and_merge_keys() -> None:
    text = (
        "base: &base {materialized: table, tags: &tags [a, b]}\n"
        "one:\n"
        "  <<: *base\n"
        "  materialized: view\n"
        "two: *tags\n"
    )
    data = parse_yaml(text, "props.yml")
    assert data == yaml.safe_load(text)
    assert data["one"] == {"materialized": "view", "tags": ["a", "b"]}
    assert data["two"] is data["base"]["tags"]  # an alias is the anchor's value


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("a:\n  ? [1, 2]\n  : x\n", (2, 5), "a key must be a single value"),
        ("a: &r [1, *r]\n", (1, 4), "an alias refers to the collection it is in"),
        ("a: !!str {b: 1}\n", (1, 4), "expected a scalar node"),
        ("a: [1, 2\n", (2, 1), "invalid YAML"),
    ],
)
def test_bad_documents_are_located_errors(text: str, where: tuple[int, int], says: str) -> None:
    with pytest.raises(ProjectError) as caught:
        parse_yaml(text, "props.yml")
    message = str(caught.value)
    assert message.startswith(f"props.yml:{where[0]}:{where[1]}: "), message
    assert says in message


def test_a_key_written_twice_keeps_the_last_and_is_a_warning_naming_both_lines() -> None:
    text = (
        "models:\n"
        "  - name: orders\n"
        "    columns:\n"
        "      - name: id\n"
        "    columns:\n"
        "      - name: amount\n"
    )
    warnings: list[TealError] = []
    data = parse_yaml(text, "props.yml", warnings)
    assert data == yaml.safe_load(text)  # the last wins, as PyYAML (and so dbt) reads it
    (warning,) = warnings
    assert str(warning).startswith(
        "props.yml:5:5: key 'columns' is written twice in one mapping, on lines 3 and 5: "
        "the one on line 3 is ignored"
    )
    assert "hint: merge the two 'columns:' entries into one" in str(warning)
    # a file given on the command line has no warnings to go to: an error
    with pytest.raises(ProjectError, match="key 'columns' is written twice"):
        parse_yaml(text, "props.yml")


def test_keys_a_mapping_merges_in_and_sets_again_are_not_written_twice() -> None:
    text = "base: &base {a: 1, b: 2}\none:\n  <<: *base\n  a: 3\n"
    warnings: list[TealError] = []
    assert parse_yaml(text, "props.yml", warnings)["one"] == {"a": 3, "b": 2}
    assert warnings == []
    text += "  a: 4\n"  # but one it sets twice itself is
    parse_yaml(text, "props.yml", warnings)
    assert [w.line for w in warnings] == [5]
