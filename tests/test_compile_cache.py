"""Parse results are cached by content hash under .teal/: unchanged models are not re-parsed."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

N = 120


def _many_models() -> dict[str, str]:
    files = {"models/staging/s0.sql": "select range as id, range % 7 as k from range(100)\n"}
    for i in range(1, N):
        up = f"s{i - 1}" if i % 10 else "s0"
        files[f"models/staging/s{i}.sql"] = (
            f"with base as (select id, k from {up})\n"
            f"select id, k, k * {i} as v{i} from base where id >= 0\n"
        )
    files["models/marts/eph.sql"] = "{{ config(materialized='ephemeral') }}\nselect id from s5\n"
    files["models/marts/uses_eph.sql"] = "select * from eph join s3 using (id)\n"
    return files


def _parses(out: str) -> int:
    m = re.search(r"\((\d+) SQL parses", out)
    assert m, out
    return int(m.group(1))


def test_second_compile_parses_nothing_and_edits_reparse_only_the_edited(project) -> None:
    root = project(_many_models())
    cold = run_teal("compile", cwd=root)
    assert cold.returncode == 0, cold.output
    assert _parses(cold.stdout) >= N + 2
    manifest_cold = json.loads((root / "target/manifest.json").read_text())

    warm = run_teal("compile", cwd=root)
    assert _parses(warm.stdout) == 0
    assert json.loads((root / "target/manifest.json").read_text()) == manifest_cold

    # a formatting-only edit is a new text: parsed once, same SQL hash
    (root / "models/staging/s7.sql").write_text(
        "with base as (select id, k from s6)\nSELECT id, k, k * 7 AS v7\nFROM base WHERE id >= 0\n"
    )
    edited = run_teal("compile", cwd=root)
    assert _parses(edited.stdout) == 1
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert manifest["models"]["s7"]["sql_hash"] == manifest_cold["models"]["s7"]["sql_hash"]

    # editing the ephemeral re-parses it and recompiles its consumer (its SQL embeds it)
    (root / "models/marts/eph.sql").write_text(
        "{{ config(materialized='ephemeral') }}\nselect id from s5 where id > 10\n"
    )
    again = run_teal("compile", cwd=root)
    assert _parses(again.stdout) == 2
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert (
        manifest["models"]["uses_eph"]["sql_hash"]
        != manifest_cold["models"]["uses_eph"]["sql_hash"]
    )
    assert "id > 10" in (root / "target/compiled/models/marts/uses_eph.sql").read_text()


def test_a_corrupt_cache_is_a_cold_cache(project) -> None:
    root = project(_many_models())
    assert run_teal("compile", cwd=root).returncode == 0
    cache = root / ".teal/cache/compile.pickle"
    assert cache.is_file() and (root / ".teal/cache/project.pickle").is_file()
    for stored in (root / ".teal/cache").iterdir():
        stored.write_bytes(b"not a pickle")
    again = run_teal("compile", cwd=root)
    assert again.returncode == 0, again.output
    assert _parses(again.stdout) >= N
    built = run_teal("build", "-s", "+uses_eph", cwd=root)
    assert built.returncode == 0, built.output


# -- the whole loaded project is reused while nothing it was made from changes ---------------

SNAPSHOT_FILES = {
    "models/base.sql": "select range as id, '{{ var('tag', 'v1') }}' as tag from range(3)\n",
    "models/envy.sql": "select '{{ env_var('TEAL_TEST_FLAVOUR', 'plain') }}' as flavour\n",
    "models/top.sql": "select id, tag from base\n",
    "models/schema.yml": """
        models:
          - name: top
            columns:
              - name: id
                tests: [not_null]
        """,
}


def _compiled(root, name: str) -> str:
    return (root / "target" / "compiled" / "models" / f"{name}.sql").read_text()


def test_the_loaded_project_is_reused_until_something_it_reads_changes(project) -> None:
    root = project(SNAPSHOT_FILES)
    first = run_teal("compile", cwd=root)
    assert first.returncode == 0, first.output
    assert (root / ".teal/cache/project.pickle").is_file()
    manifest = json.loads((root / "target/manifest.json").read_text())
    again = run_teal("compile", cwd=root)
    assert _parses(again.stdout) == 0
    assert json.loads((root / "target/manifest.json").read_text()) == manifest

    # a model's text
    (root / "models/top.sql").write_text("select id, tag, id * 2 as twice from base\n")
    run_teal("compile", cwd=root)
    assert "twice" in _compiled(root, "top")

    # --vars
    run_teal("compile", "--vars", "{tag: v2}", cwd=root)
    assert "'v2'" in _compiled(root, "base")
    run_teal("compile", cwd=root)
    assert "'v1'" in _compiled(root, "base")

    # the environment, for a project that calls env_var
    run_teal("compile", cwd=root, env={"TEAL_TEST_FLAVOUR": "spicy"})
    assert "'spicy'" in _compiled(root, "envy")

    # YAML: a new check is planned
    plan = run_teal("plan", cwd=root)
    assert "not_null_top_id" in plan.stdout and "accepted_values" not in plan.stdout
    (root / "models/schema.yml").write_text(
        "models:\n  - name: top\n    columns:\n      - name: id\n"
        "        tests: [not_null, {accepted_values: {values: [0, 1, 2]}}]\n"
    )
    assert "accepted_values_top_id" in run_teal("plan", cwd=root).stdout

    # a singular check added to checks/
    (root / "checks").mkdir()
    (root / "checks" / "no_negative_ids.sql").write_text("select * from top where id < 0\n")
    assert "no_negative_ids" in run_teal("plan", cwd=root).stdout

    # teal.toml
    (root / "teal.toml").write_text(
        'name = "fixture"\nthreads = 2\n[defaults]\nmaterialized = "table"\n'
    )
    run_teal("compile", cwd=root)
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert manifest["models"]["top"]["materialized"] == "table"

    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert "Checks: 3 run, 3 passed" in built.stdout


def test_a_source_behind_a_symbolic_link_is_read_where_the_link_points_now(project) -> None:
    root = project(
        {
            "models/sources.yml": """
            sources:
              - name: raw
                path: ../data/current/{table}.csv
                tables: [orders]
            """,
            "models/o.sql": "{{ config(materialized='table') }}\nselect * from {{ source('raw', 'orders') }}\n",
        }
    )
    for version, ids in (("v1", [1]), ("v2", [2, 3])):
        (root / "data" / version).mkdir(parents=True)
        (root / "data" / version / "orders.csv").write_text("id\n" + "".join(f"{i}\n" for i in ids))
    (root / "data" / "current").symlink_to("v1")
    assert run_teal("build", cwd=root).returncode == 0
    assert query(root / "warehouse.duckdb", "select id from o order by id") == [(1,)]

    (root / "data" / "current").unlink()
    (root / "data" / "current").symlink_to("v2")
    assert run_teal("build", cwd=root).returncode == 0
    assert query(root / "warehouse.duckdb", "select id from o order by id") == [(2,), (3,)]


def test_a_check_in_a_hidden_folder_is_seen_when_it_changes(project) -> None:
    root = project(
        {
            "models/m.sql": "{{ config(materialized='table') }}\nselect 1 as id\n",
            "checks/.wip/no_big_ids.sql": "select * from m where id > 5\n",
        }
    )
    ok = run_teal("build", cwd=root)
    assert ok.returncode == 0 and "1 passed" in ok.stdout, ok.output
    (root / "checks/.wip/no_big_ids.sql").write_text("select * from m where id > 0\n")
    failed = run_teal("build", cwd=root)
    assert failed.returncode == 1, failed.output
    assert "no_big_ids" in failed.stdout


def test_a_helper_changed_after_two_loads_in_one_process_is_seen(project) -> None:
    """A helper imported by an earlier load of the same process still counts as an input."""
    root = project(
        {
            "lib/settings.py": 'SCHEMA = "raw"\n',
            "models/things.py": """
            import sys
            from pathlib import Path

            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
            import settings  # noqa: E402

            import pyarrow as pa  # noqa: E402

            import teal  # noqa: E402


            @teal.asset(schema=settings.SCHEMA)
            def things() -> pa.Table:
                return pa.table({"n": [1]})
            """,
        }
    )
    script = (
        "import pathlib, teal\n"
        f"root = pathlib.Path({str(root)!r})\n"
        "assert teal.build(root).success\n"
        "p = root / 'models/things.py'\n"
        "p.write_text(p.read_text() + '\\n# edited\\n')\n"
        "assert teal.build(root).success\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    (root / "lib/settings.py").write_text('SCHEMA = "staging"\n')
    listed = run_teal("ls", "-o", "relation", cwd=root)
    assert listed.returncode == 0, listed.output
    assert "staging.things" in listed.stdout and "raw.things" not in listed.stdout


def test_a_new_cache_format_does_not_make_every_model_look_changed(project, monkeypatch) -> None:
    """Model versions (what --changed-only and state:modified compare) come from the SQL and
    what it reads, never from the cache's format: an upgrade of teal does not rebuild all."""
    import shutil

    from teal.compiler import cache
    from teal.compiler.project import load_project

    root = project({"models/a.sql": "select 1 as x", "models/b.sql": "select x + 1 as y from a"})
    before = {n: m.sql_hash for n, m in load_project(root).models.items()}
    shutil.rmtree(root / ".teal")
    monkeypatch.setattr(cache, "VERSION", cache.VERSION + "-next")
    assert {n: m.sql_hash for n, m in load_project(root).models.items()} == before


def test_run_options_do_not_invalidate_the_loaded_project(project) -> None:
    """--threads and the warehouse file only matter to running: a build with other ones
    reuses the stored project (and still runs with the options it was given)."""
    root = project({"models/a.sql": "select 1 as x", "models/b.sql": "select x + 1 as y from a"})
    assert run_teal("compile", cwd=root).returncode == 0
    stored = (root / ".teal/cache/project.pickle").read_bytes()

    one = run_teal("build", "--threads", "1", cwd=root)
    assert one.returncode == 0 and "with 1 thread" in one.stdout, one.output
    other = run_teal("build", "--threads", "3", "--warehouse", "other.duckdb", cwd=root)
    assert other.returncode == 0 and "with 3 threads" in other.stdout, other.output
    assert "other.duckdb" in other.stdout
    assert query(root / "other.duckdb", "select y from main.b") == [(2,)]
    assert (root / ".teal/cache/project.pickle").read_bytes() == stored  # not loaded again


def test_the_files_read_for_the_snapshot_key_are_the_files_a_load_finds(project) -> None:
    """A load reuses the bytes the snapshot key read instead of reading every file again:
    it must find the same files, in the same order, with the same text."""
    from teal.compiler import snapshot
    from teal.compiler.config import load_config
    from teal.compiler.discover import discover, read_sql_text

    root = project(
        {
            "models/a.sql": "select 1 as x",
            "models/a-b/c.sql": "select 2 as x",
            "models/a/b.sql": "select 3 as x",
            "models/_private/skip.sql": "select 4 as x",
            "models/.hidden/skip2.sql": "select 5 as x",
            "models/.dotfile.sql": "select 6 as x",
            "models/py/_helper.py": "X = 1\n",
            "models/py/thing.py": "import teal\n",
            "models/props.yaml": "models: []\n",
            "checks/no_rows.sql": "select * from a where x < 0",
            # longer than one read of the key's reader (64 KiB): read to its end
            "models/long.sql": "select 7 as x -- " + "x" * 200_000 + "\n, 8 as y",
        }
    )
    (root / "models/crlf.sql").write_bytes(b"select 1 as x,\r\n  2 as y\r\n")
    (root / "elsewhere").mkdir()  # a linked folder is not entered, by either walk
    (root / "elsewhere/linked_in.sql").write_text("select 9 as x")
    (root / "models/linked").symlink_to(root / "elsewhere", target_is_directory=True)
    (root / "models/dangling.sql").symlink_to(root / "no_such_file.sql")  # not a file
    cfg = load_config(root)
    contents: dict[str, bytes] = {}
    snapshot.key(cfg, contents)
    walked = discover(cfg.models_dir)
    read = discover(cfg.models_dir, contents)
    assert read == walked
    assert [p.name for p in read.sql] == ["b.sql", "c.sql", "a.sql", "crlf.sql", "long.sql"]
    long = root / "models/long.sql"
    assert read_sql_text(long, contents) == long.read_text(encoding="utf-8")
    crlf = root / "models/crlf.sql"
    assert read_sql_text(crlf, contents) == crlf.read_text(encoding="utf-8")
    assert read_sql_text(crlf, contents) == "select 1 as x,\n  2 as y\n"


def test_the_stored_project_is_keyed_by_every_compiler_module() -> None:
    """A stored project holds the compiler's own objects (models, partition definitions):
    a change to any compiler module, subpackages included, must make it stale."""
    from teal.compiler import snapshot

    fingerprint = snapshot.compiler_fingerprint()
    for module in ("/project.py", "/stage.py", "/partitions/time.py", "/partitions/mappings.py"):
        assert f"'{module}'" in fingerprint
