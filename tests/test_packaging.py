"""teal installs as one package: its layers are ``teal.compiler``, ``teal.warehouse`` and
``teal.runtime``, so a user's own ``runtime.py`` or ``compiler.py`` cannot break it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, query, run_teal

USER_MODULE = "raise ImportError('the user\\'s own {name}.py was imported by teal')\n"


def _user_folder(project):
    files = {
        f"{name}.py": USER_MODULE.format(name=name) for name in ("runtime", "compiler", "warehouse")
    }
    files["models/marts/evens.sql"] = "select range as n from range(10) where range % 2 = 0"
    return project(files)


@pytest.mark.slow
def test_cli_builds_beside_user_modules_named_like_teal_layers(project):
    root = _user_folder(project)
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert query(root / "warehouse.duckdb", "select count(*) from marts.evens") == [(5,)]


@pytest.mark.slow
def test_python_api_builds_beside_user_modules_named_like_teal_layers(project):
    root = _user_folder(project)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", "import teal; r = teal.build('.'); print(r.success, len(r.built))"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True 1"


def test_every_subpackage_is_listed_for_installation():
    """A folder with an __init__.py that pyproject.toml does not list would be missing from
    a (non-editable) install."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    found = set()
    for package, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([package, *rel.parts]))
    assert set(config["packages"]) == found


@pytest.mark.slow
def test_installed_wheel_has_no_generic_top_level_packages(tmp_path):
    """In a fresh venv holding only teal, ``import compiler`` fails: nothing but ``teal``
    is installed at the top level."""
    wheels = tmp_path / "wheels"
    source = tmp_path / "source"  # built from a copy: setuptools writes build/ beside it
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("teal", "compiler", "warehouse", "runtime"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("teal-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"teal"}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    assert (site / "teal" / "compiler" / "project.py").exists()
    assert (site / "teal" / "warehouse").is_dir() and (site / "teal" / "runtime").is_dir()
    for name in ("compiler", "runtime", "warehouse"):
        done = subprocess.run(
            [str(python), "-c", f"import {name}"], cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 1
        assert f"No module named '{name}'" in done.stderr


def test_import_teal_imports_no_layer_until_a_name_is_used():
    """``import teal`` (what every Python model file does) costs almost nothing: each public
    name is imported on first use, and every name of ``teal.__all__`` resolves."""
    code = (
        "import sys, teal\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('teal.compiler', 'teal.runtime',"
        " 'teal.warehouse', 'duckdb', 'sqlglot', 'polars', 'pyarrow')))\n"
        "print('loaded:', heavy)\n"
        "missing = [n for n in teal.__all__ if getattr(teal, n, None) is None]\n"
        "print('missing:', missing)\n"
        "from teal import asset, Session\n"
        "print('session:', Session.__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stdout
    assert "missing: []" in done.stdout
    assert "session: teal.runtime.session" in done.stdout


def test_every_command_is_listed_and_found_but_imported_only_when_run(tmp_path):
    """The command modules of the daemon, the UI, dbt, runs and partitions load only when
    one of their commands runs: `teal compile` imports none of them, `teal --help` lists
    every command, and each listed name resolves to a command of that name."""
    code = (
        "import sys, click\n"
        "from teal.cli import main, LAZY_COMMANDS\n"
        "ctx = click.Context(main)\n"
        "loaded = sorted(m for m in set(LAZY_COMMANDS.values()) if m in sys.modules)\n"
        "print('loaded before:', loaded)\n"
        "names = main.list_commands(ctx)\n"
        "wrong = [n for n in names if getattr(main.get_command(ctx, n), 'name', None) != n]\n"
        "print('wrong:', wrong)\n"
        "print('names:', ' '.join(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "loaded before: []" in done.stdout
    assert "wrong: []" in done.stdout
    listed = done.stdout.split("names:", 1)[1].split()
    for name in ("build", "compile", "runs", "daemon", "ui", "validate", "seed", "docs"):
        assert name in listed
    helped = subprocess.run(
        [sys.executable, "-m", "teal.cli", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert helped.returncode == 0
    assert "daemon" in helped.stdout and "partitions" in helped.stdout


@pytest.mark.slow
def test_commands_that_only_read_do_not_import_what_a_build_runs(project):
    """`teal plan` and `teal compile` answer without importing the executor, the recorder's
    run and the checks (runtime/session_run.py); `teal build` then runs as before."""
    root = project({"models/a.sql": "select 1 as x", "models/b.sql": "select x from a"})
    code = (
        "import sys\n"
        "from teal.cli import main\n"
        "for args in (['plan'], ['compile']):\n"
        "    try:\n"
        "        main(args, standalone_mode=False)\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, exit.code\n"
        "build = ('teal.runtime.session_run', 'teal.runtime.executor', 'teal.runtime.check_run')\n"
        "print('imported:', sorted(m for m in build if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "imported: []" in done.stdout
    assert "2 steps" in done.stdout  # the plan listed both models
    built = subprocess.run(
        [sys.executable, "-m", "teal.cli", "build"], capture_output=True, text=True, cwd=root
    )
    assert built.returncode == 0, built.stderr
    assert "2 built" in built.stdout
