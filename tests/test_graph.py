"""The model DAG: topological, deterministic orders, walks with depth, cycle reports."""

from __future__ import annotations

import graphlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teal.compiler.graph import Dag, depth_levels

# a -> b -> c -> e        (x -> y: y reads x)
#      b -> d -> e
# f (alone)
DIAMOND = {"a": (), "b": ("a",), "c": ("b",), "d": ("b",), "e": ("c", "d"), "f": ()}


def _is_edge_path(dag: Dag, path: list[str]) -> bool:
    """Each node in ``path`` reads the next one (the project's cycle message says 'reads')."""
    return all(nxt in dag.upstreams[node] for node, nxt in zip(path, path[1:]))


def test_order_puts_every_upstream_first_and_breaks_ties_by_name():
    assert Dag(DIAMOND).order() == ["a", "f", "b", "c", "d", "e"]


def test_order_does_not_depend_on_insertion_order_or_duplicate_edges():
    shuffled = dict(reversed(list(DIAMOND.items())))
    shuffled["e"] = ("d", "c", "d")
    assert Dag(shuffled).order() == Dag(DIAMOND).order()


def test_order_returns_a_copy_callers_cannot_corrupt():
    dag = Dag(DIAMOND)
    dag.order().clear()
    assert dag.order() == ["a", "f", "b", "c", "d", "e"]


def test_upstream_that_is_not_a_node_still_orders_first():
    # Dag is a plain graph: an edge to an unknown node (e.g. a source) is ordered, not lost
    dag = Dag({"m": ("ext",)})
    assert dag.order() == ["ext", "m"]
    assert dag.downstreams["ext"] == ("m",)


def test_ancestors_and_descendants_without_depth_are_transitive_and_exclude_the_node():
    dag = Dag(DIAMOND)
    assert dag.ancestors("e") == {"a", "b", "c", "d"}
    assert dag.descendants("a") == {"b", "c", "d", "e"}
    assert dag.ancestors("a") == set()
    assert dag.descendants("f") == set() and dag.ancestors("f") == set()


@pytest.mark.parametrize(
    "depth, expected",
    [
        (0, set()),
        (1, {"c", "d"}),
        (2, {"b", "c", "d"}),
        (3, {"a", "b", "c", "d"}),
        (10, {"a", "b", "c", "d"}),
    ],
)
def test_ancestors_with_depth_stop_after_that_many_levels(depth, expected):
    assert Dag(DIAMOND).ancestors("e", depth) == expected


@pytest.mark.parametrize(
    "depth, expected",
    [
        (1, {"b"}),
        (2, {"b", "c", "d"}),
        (3, {"b", "c", "d", "e"}),
    ],
)
def test_descendants_with_depth_stop_after_that_many_levels(depth, expected):
    assert Dag(DIAMOND).descendants("a", depth) == expected


def test_depth_counts_the_shortest_path():
    # a -> b -> c and a -> c: c is one step below a even though a longer path exists
    dag = Dag({"a": (), "b": ("a",), "c": ("a", "b")})
    assert dag.descendants("a", 1) == {"b", "c"}
    assert dag.ancestors("c", 1) == {"a", "b"}


def test_downstreams_are_the_reverse_of_upstreams():
    dag = Dag(DIAMOND)
    assert dag.downstreams == {
        "a": ("b",),
        "b": ("c", "d"),
        "c": ("e",),
        "d": ("e",),
        "e": (),
        "f": (),
    }


def test_subgraph_keeps_only_edges_between_kept_nodes():
    sub = Dag(DIAMOND).subgraph(["b", "c", "e", "nope"])
    assert sub.upstreams == {"b": (), "c": ("b",), "e": ("c",)}
    assert sub.order() == ["b", "c", "e"]
    assert "nope" not in sub and len(sub) == 3


def test_acyclic_graph_has_no_cycle():
    assert Dag(DIAMOND).find_cycle() is None
    assert Dag({}).find_cycle() is None


@pytest.mark.parametrize(
    "graph",
    [
        {"x": ("y",), "y": ("x",)},
        {"a": ("c",), "b": ("a",), "c": ("b",)},
        {"a": ("a",)},
        {"ok": (), "p": ("ok", "q"), "q": ("r",), "r": ("p",), "z": ("p",)},
    ],
)
def test_find_cycle_returns_a_closed_path_of_real_edges(graph):
    dag = Dag(graph)
    cycle = dag.find_cycle()
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert len(cycle) >= 2
    assert len(set(cycle[:-1])) == len(cycle) - 1  # no node twice inside the loop
    assert _is_edge_path(dag, cycle)


def test_find_cycle_reports_only_the_loop_not_the_path_into_it():
    dag = Dag({"ok": (), "p": ("ok", "q"), "q": ("r",), "r": ("p",), "z": ("p",)})
    cycle = dag.find_cycle()
    assert set(cycle) == {"p", "q", "r"}


def test_find_cycle_is_deterministic():
    graph = {"a": ("b",), "b": ("a",), "c": ("d",), "d": ("c",)}
    first = Dag(graph).find_cycle()
    assert all(Dag(dict(reversed(list(graph.items())))).find_cycle() == first for _ in range(3))


def test_order_of_a_cyclic_graph_raises():
    with pytest.raises(graphlib.CycleError):
        Dag({"x": ("y",), "y": ("x",)}).order()


# -- properties --------------------------------------------------------------------------


@st.composite
def dags(draw, max_nodes: int = 12):
    """A random DAG: names shuffled, node i may read any node before it in a hidden order."""
    n = draw(st.integers(min_value=0, max_value=max_nodes))
    names = draw(
        st.lists(st.text("abcdefgh_", min_size=1, max_size=4), min_size=n, max_size=n, unique=True)
    )
    graph: dict[str, tuple[str, ...]] = {}
    for i, name in enumerate(names):
        ups = draw(st.lists(st.sampled_from(names[:i]), max_size=4)) if i else []
        graph[name] = tuple(ups)
    keys = list(graph)
    random.Random(draw(st.integers(0, 10**6))).shuffle(keys)
    return {k: graph[k] for k in keys}


def _closure(graph: dict[str, tuple[str, ...]], node: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[node])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(graph[n])
    return seen


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(dags())
def test_every_edge_goes_forward_in_order(graph):
    dag = Dag(graph)
    order = dag.order()
    assert sorted(order) == sorted(graph)
    position = {n: i for i, n in enumerate(order)}
    for node, ups in graph.items():
        for up in ups:
            assert position[up] < position[node]
    assert dag.find_cycle() is None
    # deterministic: the same graph written in another order gives the same order
    assert Dag(dict(sorted(graph.items()))).order() == order


@settings(max_examples=100, deadline=None)
@given(dags())
def test_ancestors_match_the_transitive_closure_and_mirror_descendants(graph):
    dag = Dag(graph)
    for node in graph:
        assert dag.ancestors(node) == _closure(graph, node)
        assert dag.ancestors(node, 1) == set(graph[node])
        for other in graph:
            assert (other in dag.descendants(node)) == (node in dag.ancestors(other))


@settings(max_examples=100, deadline=None)
@given(dags(), st.data())
def test_a_back_edge_makes_find_cycle_return_a_real_closed_path(graph, data):
    # add an edge from a node to one of its descendants: that closes a loop
    candidates = [(n, d) for n in graph for d in Dag(graph).descendants(n)]
    if not candidates:
        graph = {"only": ("only",)}
    else:
        node, below = data.draw(st.sampled_from(sorted(candidates)))
        graph = {**graph, node: (*graph[node], below)}
    dag = Dag(graph)
    cycle = dag.find_cycle()
    assert cycle is not None and cycle[0] == cycle[-1]
    assert _is_edge_path(dag, cycle)


def test_depth_levels_group_what_can_run_side_by_side():
    order = Dag(DIAMOND).order()
    levels = depth_levels(order, lambda n: n, lambda n: DIAMOND[n])
    assert levels == [["a", "f"], ["b"], ["c", "d"], ["e"]]


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(dags())
def test_depth_levels_put_each_node_one_below_its_deepest_upstream(graph):
    order = Dag(graph).order()
    levels = depth_levels(order, lambda n: n, lambda n: graph[n])
    at = {n: i for i, level in enumerate(levels) for n in level}
    assert [n for level in levels for n in level] == sorted(order, key=lambda n: at[n])
    for node, ups in graph.items():
        assert at[node] == max((at[u] + 1 for u in ups), default=0)
    assert all(levels)  # no empty level
