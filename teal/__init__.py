"""teal: a dataframe-native SQL warehouse pipeline compiler for DuckDB.

The public Python API. Everything here is a re-export; the implementation lives in the
compiler/, warehouse/ and runtime/ layers.
"""

from compiler.assets import AssetCheckDef, AssetDef, CheckResult, asset, asset_check
from compiler.config import ProjectConfig, load_config
from compiler.errors import (
    ExecutionError,
    LineageError,
    ParseError,
    ProjectError,
    SelectionError,
    TealError,
    TemplateError,
    WarehouseError,
)
from compiler.plan import Plan, build_plan
from compiler.project import Model, Project, load_project
from runtime.build import MaterializeResult, build, materialize
from runtime.context import AssetContext
from runtime.results import BuildResult, ModelResult

__version__ = "0.1.0"

__all__ = [
    "AssetCheckDef",
    "AssetContext",
    "CheckResult",
    "asset_check",
    "AssetDef",
    "BuildResult",
    "ExecutionError",
    "LineageError",
    "MaterializeResult",
    "Model",
    "ModelResult",
    "ParseError",
    "Plan",
    "Project",
    "ProjectConfig",
    "ProjectError",
    "SelectionError",
    "TealError",
    "TemplateError",
    "WarehouseError",
    "asset",
    "build",
    "build_plan",
    "load_config",
    "load_project",
    "materialize",
]
