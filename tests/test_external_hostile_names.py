"""Names that would lead an external model's files out of their place: a dynamic partition
key of dots alone (as a file sensor takes it from a landed file's name, `orders_..csv`)
and a Python asset named like a path. Its partition's folder must stay inside the
location, and a refresh of it must leave the other partitions' files where they were;
a name that would put the files outside the external root is an error before anything
is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import run_teal

pytestmark = pytest.mark.slow

BY_REGION = """\
{{ config(materialized='external', partitioned_by={'dynamic': 'regions'},
          partition_column='region') }}
select '{{ partition.key }}' as region, 1 as n
"""


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def teal(root: Path, *args: str) -> str:
    done = run_teal(*args, cwd=root)
    assert done.returncode == 0, done.output
    return done.output


def test_a_partition_key_of_dots_is_a_folder_of_its_own_and_its_refresh_keeps_the_others(
    tmp_path: Path,
):
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "p"\n')
    (root / "models" / "by_region.sql").write_text(BY_REGION)
    (root / "models" / "other.sql").write_text(
        "{{ config(materialized='external') }}\nselect 1 as a\n"
    )
    teal(root, "partitions", "add", "regions", "eu", ".", "..")
    teal(root, "build")
    external = root / "external" / "main"
    location = external / "by_region"
    before = digest(external)
    assert "other.parquet" in before  # the neighbour a `..` folder would have replaced
    assert "by_region/eu/data_0.parquet" in before
    assert not (location / "data_0.parquet").exists()  # `.` is not the location itself

    for key in (".", ".."):  # each refreshed alone: only its own folder is written
        out = teal(root, "build", "-s", "by_region", "--partition", key)
        assert f"partition {key}" in out, out
        assert set(digest(external)) == set(before)
        assert digest(location / "eu") == {
            k.removeprefix("by_region/eu/"): v
            for k, v in before.items()
            if k.startswith("by_region/eu/")
        }
        assert (external / "other.parquet").exists()


def test_a_python_asset_named_like_a_path_cannot_write_outside_the_external_root(
    tmp_path: Path,
):
    root = tmp_path / "deep" / "p"
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "p"\n')
    (root / "models" / "a.py").write_text(
        "import pyarrow as pa\nimport teal\n\n\n"
        '@teal.asset(name="../../../escaped", io_manager="parquet")\n'
        "def a() -> pa.Table:\n"
        '    return pa.table({"x": [1]})\n'
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    assert "the relation name '../../../escaped' cannot name a folder" in done.output
    assert "models/a.py:5" in done.output
    assert list(tmp_path.rglob("escaped*")) == []
