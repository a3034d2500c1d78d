"""A cold compile traces lineage on both cores (compiler/lineage_ahead.py): half of the
models in a forked child, each with its upstreams' names as the parse knows them. The
result must be exactly the one process's: the same columns and edges for every model,
including a model whose upstream's names the parse could not know (``select *``), which
the pass in build order traces again."""

from __future__ import annotations

import threading

import pytest

from teal.compiler.column_lineage import column_graph
from teal.compiler.lineage_ahead import MIN_TRACES, trace_ahead
from teal.compiler.project import load_project
from teal.compiler.strategy import LoadStrategy


def _files(n: int) -> dict[str, str]:
    files = {"models/base.sql": "select range as id, range * 2 as amount from range(5)\n"}
    for i in range(n):
        up = "base" if i == 0 else f"m{i - 1:03d}"
        files[f"models/m{i:03d}.sql"] = (
            f"select id, amount + {i} as amount, amount * 2 as doubled from {up}\n"
            if i % 10
            else f"with x as (select * from {up}) select * exclude (amount), amount from x\n"
        )
    files["models/star.sql"] = "select * from m005\n"
    files["models/after_star.sql"] = "select id, doubled from star\n"
    return files


def _plain(graph, name: str):
    found = graph.models[name]
    return found.names, [(c.name, sorted(map(str, c.edges))) for c in found.columns or ()]


@pytest.mark.skipif(threading.active_count() > 1, reason="forking needs a single thread")
def test_two_cores_trace_what_one_does(project):
    root = project(_files(MIN_TRACES + 16))
    loaded = load_project(root)
    alone = column_graph(loaded, use_cache=False)
    strategy = LoadStrategy.command_line()
    both = column_graph(load_project(root), strategy=strategy)
    # the pass in build order traced only what the parse could not name ahead
    assert 0 < both.traced < len(alone.models) // 4
    assert set(both.models) == set(alone.models)
    for name in alone.models:
        assert _plain(both, name) == _plain(alone, name), name
    assert both.columns_of("after_star") == ("id", "doubled")
    assert str(both.resolution()) == str(alone.resolution())


def test_few_models_are_traced_in_line(project):
    root = project(_files(8))
    loaded = load_project(root)
    from teal.compiler.cache import CompileCache

    traced = trace_ahead(
        loaded, loaded.dag.order(), CompileCache(None), {}, {}, LoadStrategy.command_line()
    )
    assert traced == 0
    assert column_graph(loaded, strategy=LoadStrategy.command_line()).traced == len(loaded.models)
