"""Parse results are cached by content hash under .teal/: unchanged models are not re-parsed."""

from __future__ import annotations

import json
import re

from tests.conftest import run_teal

N = 120


def _many_models() -> dict[str, str]:
    files = {"models/staging/s0.sql": "select range as id, range % 7 as k from range(100)\n"}
    for i in range(1, N):
        up = f"s{i - 1}" if i % 10 else "s0"
        files[f"models/staging/s{i}.sql"] = (
            f"with base as (select id, k from {up})\n"
            f"select id, k, k * {i} as v{i} from base where id >= 0\n")
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
        "with base as (select id, k from s6)\nSELECT id, k, k * 7 AS v7\nFROM base WHERE id >= 0\n")
    edited = run_teal("compile", cwd=root)
    assert _parses(edited.stdout) == 1
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert manifest["models"]["s7"]["sql_hash"] == manifest_cold["models"]["s7"]["sql_hash"]

    # editing the ephemeral re-parses it and recompiles its consumer (its SQL embeds it)
    (root / "models/marts/eph.sql").write_text(
        "{{ config(materialized='ephemeral') }}\nselect id from s5 where id > 10\n")
    again = run_teal("compile", cwd=root)
    assert _parses(again.stdout) == 2
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert manifest["models"]["uses_eph"]["sql_hash"] != manifest_cold["models"]["uses_eph"]["sql_hash"]
    assert "id > 10" in (root / "target/compiled/models/marts/uses_eph.sql").read_text()


def test_a_corrupt_cache_is_a_cold_cache(project) -> None:
    root = project(_many_models())
    assert run_teal("compile", cwd=root).returncode == 0
    cache = root / ".teal/cache/compile.pickle"
    assert cache.is_file()
    cache.write_bytes(b"not a pickle")
    again = run_teal("compile", cwd=root)
    assert again.returncode == 0, again.output
    assert _parses(again.stdout) >= N
    built = run_teal("build", "-s", "+uses_eph", cwd=root)
    assert built.returncode == 0, built.output
