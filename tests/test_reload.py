"""A long-lived process (a daemon, a UI server, a notebook) loads several projects, reloads
one after an edit, and is left as it was: no forked children, the collector untouched."""

from __future__ import annotations

import atexit
import gc
import os

from teal.compiler.project import load_project
from teal.compiler.strategy import LoadStrategy
from teal.runtime.session import Session


def test_two_projects_in_one_process_and_a_reload_after_an_edit(project):
    shop = project(
        {
            "models/orders.sql": "select 1 as id, 10 as amount",
            "models/big.sql": "select id from orders where amount > 5",
        },
        name="shop",
    )
    blog = project({"models/posts.sql": "select 'hello' as title"}, name="blog")
    first, second = Session.open(shop), Session.open(blog)
    before = first.project.models["big"]
    assert set(first.project.models) == {"orders", "big"}
    assert set(second.project.models) == {"posts"}
    assert [s.model for s in first.plan().steps] == ["orders", "big"]

    (shop / "models" / "big.sql").write_text("select id, amount * 2 as doubled from orders\n")
    after = first.reload().models["big"]
    assert after.columns != before.columns and "doubled" in after.columns
    assert after.sql_hash != before.sql_hash
    assert "amount * 2" in (first.plan(select="big").steps[0].sql or "")
    assert set(second.project.models) == {"posts"}  # the other project is untouched
    assert second.reload().models["posts"].sql_hash == second.project.models["posts"].sql_hash


def test_a_reload_reads_the_project_config_again(project):
    root = project(
        {"models/orders.sql": "select {{ var('limit') }} as max_rows"},
        config='name = "shop"\nthreads = 2\n\n[vars]\nlimit = 10\n',
    )
    session = Session.open(root, threads=1)  # what open() was given still applies
    assert "10 as max_rows" in (session.plan().steps[0].sql or "")
    (root / "teal.toml").write_text('name = "shop"\nthreads = 4\n\n[vars]\nlimit = 25\n')
    session.reload()
    assert session.config.vars == {"limit": 25} and session.config.threads == 1
    assert "25 as max_rows" in (session.plan().steps[0].sql or "")


def test_the_default_load_forks_nothing_and_leaves_the_collector_alone(project, monkeypatch):
    files = {f"models/m{i}.sql": f"select {i} as id" for i in range(150)}  # enough to fork
    root = project(files)
    forked: list[int] = []

    def no_fork() -> int:
        forked.append(1)
        raise AssertionError("the default load forked")

    monkeypatch.setattr(os, "fork", no_fork)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    exit_hooks = atexit._ncallbacks()
    loaded = Session.open(root).project
    assert len(loaded.models) == 150
    again = load_project(root)  # the compiler's own entry, as a daemon would call it
    assert again.stats.get("snapshot") == 1  # the stored project, written in line
    assert forked == []
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert atexit._ncallbacks() == exit_hooks  # nothing left to run at exit


def test_the_command_line_strategy_turns_the_tricks_on():
    chosen = LoadStrategy.command_line()
    assert (chosen.pause_collector, chosen.freeze_after_load, chosen.fork) == (True, True, True)
    assert LoadStrategy() == LoadStrategy(
        pause_collector=False, freeze_after_load=False, fork=False
    )
