"""The examples in docstrings are part of the documentation: they must run and be right."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import types

import pytest

PACKAGES = ("compiler", "warehouse", "runtime")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        names.append(package)
        names += [f"{package}.{info.name}" for info in pkgutil.iter_modules(pkg.__path__)]
    return sorted(names)


MODULES = _modules()


def _run_examples(module) -> tuple[int, int, str]:
    """(failed, attempted, report) for every docstring example of ``module``."""
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=report.append)
    return runner.failures, runner.tries, "".join(report)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_pass(module_name):
    failed, _, report = _run_examples(importlib.import_module(module_name))
    assert failed == 0, report


def test_the_core_modules_have_examples_to_run():
    # guard against the parametrized test silently checking nothing (e.g. a broken finder)
    attempted = {
        name: _run_examples(importlib.import_module(name))[1]
        for name in (
            "teal.compiler.graph",
            "teal.compiler.selection",
            "teal.compiler.sql",
            "teal.compiler.templating",
            "teal.compiler.rewrite",
            "teal.compiler.errors",
            "teal.compiler.config",
            "teal.warehouse.duckdb.sql",
        )
    }
    assert all(count > 0 for count in attempted.values()), attempted


def test_a_wrong_example_is_reported_as_a_failure():
    module = types.ModuleType("fake_doc_module")
    module.__doc__ = ">>> 1 + 1\n3\n"
    failed, attempted, report = _run_examples(module)
    assert (failed, attempted) == (1, 1)
    assert "Expected:" in report and "Got:" in report
