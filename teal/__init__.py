"""teal: a dataframe-native SQL warehouse pipeline compiler for DuckDB.

The public Python API. Everything here is a re-export; the implementation lives in the
compiler/, warehouse/ and runtime/ layers. Each name is imported when it is first used
(PEP 562), so ``import teal`` costs almost nothing: a model file's ``import teal`` or a
``teal runs`` does not import the planner, the executor and the run store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teal.compiler.assets import (
        AssetCheckDef,
        AssetDef,
        CheckResult,
        Output,
        asset,
        asset_check,
    )
    from teal.compiler.automation_conditions import AutomationCondition
    from teal.compiler.config import ProjectConfig, load_config
    from teal.compiler.errors import (
        ExecutionError,
        LineageError,
        ParseError,
        ProjectError,
        SelectionError,
        TealError,
        TemplateError,
        WarehouseError,
    )
    from teal.compiler.multi_assets import MultiAssetDef, multi_asset
    from teal.compiler.plan import Plan, build_plan
    from teal.compiler.project import Model, Project, load_project
    from teal.compiler.resources import Config, EnvVar, IOManager, Resource
    from teal.runtime.api import build, runs
    from teal.runtime.context import AssetContext
    from teal.runtime.io_managers import IOContext
    from teal.runtime.python_sensors import RunRequest, SensorContext, SkipReason, sensor
    from teal.runtime.results import BuildResult, ModelResult
    from teal.runtime.runstore import RunRecord, RunStatus
    from teal.runtime.session import RunOptions, Session
    from teal.runtime.testing import MaterializeResult, build_context, materialize

_WHERE: dict[str, str] = {
    "AssetCheckDef": "teal.compiler.assets",
    "AssetDef": "teal.compiler.assets",
    "CheckResult": "teal.compiler.assets",
    "Output": "teal.compiler.assets",
    "asset": "teal.compiler.assets",
    "asset_check": "teal.compiler.assets",
    "AutomationCondition": "teal.compiler.automation_conditions",
    "MultiAssetDef": "teal.compiler.multi_assets",
    "multi_asset": "teal.compiler.multi_assets",
    "ProjectConfig": "teal.compiler.config",
    "load_config": "teal.compiler.config",
    "ExecutionError": "teal.compiler.errors",
    "LineageError": "teal.compiler.errors",
    "ParseError": "teal.compiler.errors",
    "ProjectError": "teal.compiler.errors",
    "SelectionError": "teal.compiler.errors",
    "TealError": "teal.compiler.errors",
    "TemplateError": "teal.compiler.errors",
    "WarehouseError": "teal.compiler.errors",
    "Plan": "teal.compiler.plan",
    "build_plan": "teal.compiler.plan",
    "Model": "teal.compiler.project",
    "Project": "teal.compiler.project",
    "load_project": "teal.compiler.project",
    "Config": "teal.compiler.resources",
    "EnvVar": "teal.compiler.resources",
    "IOManager": "teal.compiler.resources",
    "Resource": "teal.compiler.resources",
    "build": "teal.runtime.api",
    "runs": "teal.runtime.api",
    "AssetContext": "teal.runtime.context",
    "IOContext": "teal.runtime.io_managers",
    "RunRequest": "teal.runtime.python_sensors",
    "SensorContext": "teal.runtime.python_sensors",
    "SkipReason": "teal.runtime.python_sensors",
    "sensor": "teal.runtime.python_sensors",
    "BuildResult": "teal.runtime.results",
    "ModelResult": "teal.runtime.results",
    "RunRecord": "teal.runtime.runstore",
    "RunStatus": "teal.runtime.runstore",
    "RunOptions": "teal.runtime.session",
    "Session": "teal.runtime.session",
    "MaterializeResult": "teal.runtime.testing",
    "build_context": "teal.runtime.testing",
    "materialize": "teal.runtime.testing",
}


def __getattr__(name: str) -> object:
    """The public name ``name``, imported from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'teal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found once: later uses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__version__ = "0.1.0"

__all__ = [
    "AssetCheckDef",
    "AssetContext",
    "CheckResult",
    "asset_check",
    "multi_asset",
    "MultiAssetDef",
    "AssetDef",
    "AutomationCondition",
    "BuildResult",
    "Config",
    "EnvVar",
    "ExecutionError",
    "IOContext",
    "IOManager",
    "LineageError",
    "MaterializeResult",
    "Model",
    "ModelResult",
    "Output",
    "ParseError",
    "Plan",
    "Project",
    "ProjectConfig",
    "ProjectError",
    "Resource",
    "RunOptions",
    "RunRecord",
    "RunRequest",
    "RunStatus",
    "SensorContext",
    "SkipReason",
    "SelectionError",
    "Session",
    "TealError",
    "TemplateError",
    "WarehouseError",
    "asset",
    "build",
    "build_context",
    "build_plan",
    "load_config",
    "load_project",
    "materialize",
    "runs",
    "sensor",
]
