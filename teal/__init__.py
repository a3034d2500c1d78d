"""teal: a dataframe-native SQL warehouse pipeline compiler for DuckDB.

The public Python API. Everything here is a re-export; the implementation lives in the
compiler/, warehouse/ and runtime/ layers.
"""

from teal.compiler.assets import (
    AssetCheckDef,
    AssetDef,
    CheckResult,
    Output,
    asset,
    asset_check,
)
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

__version__ = "0.1.0"

__all__ = [
    "AssetCheckDef",
    "AssetContext",
    "CheckResult",
    "asset_check",
    "AssetDef",
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
