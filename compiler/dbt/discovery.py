"""The files of a dbt project's nodes: models (``.sql``, and ``.py`` dbt Python models),
seeds (``.csv``), snapshots (``{% snapshot %}`` blocks) and singular tests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.dbt.nodes import SNAPSHOT_BLOCK, Node
from teal.compiler.dbt.settings import Package
from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader


def add_node(loader: DbtLoader, node: Node) -> None:
    uid = node.unique_id
    if uid in loader.nodes:
        other = loader.nodes[uid]
        loader.errors.append(
            ProjectError(
                f"{node.resource_type} '{node.name}' is defined twice: in {other.display} and in {node.display}",
                path=node.display,
                line=1,
                hint="names are unique in a project; rename one of them",
            )
        )
        return
    loader.nodes[uid] = node
    if node.resource_type != "test":
        loader.by_name.setdefault(node.name, []).append(node)


def fqn(loader: DbtLoader, package: Package, base: Path, path: Path, name: str) -> list[str]:
    parts = list(path.relative_to(base).parts[:-1])
    return [package.name, *parts, name]


def discover_nodes(loader: DbtLoader) -> None:
    from teal.compiler.discover import ProjectFiles, skipped_files

    for package in loader._packages():
        for folder in package.model_paths:
            base = package.root / folder
            skipped: list[Path] = []
            root_project = package is loader.settings.project
            files = loader._files(
                package, (folder,), (".sql", ".py"), skipped if root_project else None
            )
            loader.warnings += skipped_files(ProjectFiles(skipped=tuple(skipped)), loader.cfg.root)
            for path in files:
                display = loader._display(path)
                # a .py file is a dbt Python model (compiler/dbt/python_models.py)
                node = Node(
                    "model",
                    package.name,
                    path.stem,
                    path,
                    display,
                    fqn(loader, package, base, path, path.stem),
                    raw=loader._read(path),
                )
                add_node(loader, node)
        for folder in package.seed_paths:
            base = package.root / folder
            for path in loader._files(package, (folder,), (".csv",)):
                node = Node(
                    "seed",
                    package.name,
                    path.stem,
                    path,
                    loader._display(path),
                    fqn(loader, package, base, path, path.stem),
                )
                add_node(loader, node)
        for folder in package.snapshot_paths:
            base = package.root / folder
            for path in loader._files(package, (folder,), (".sql",)):
                text = loader._read(path)
                blocks = list(SNAPSHOT_BLOCK.finditer(text))
                if not blocks and text.strip():
                    loader.errors.append(
                        ProjectError(
                            "a snapshot file holds {% snapshot name %} ... {% endsnapshot %}",
                            path=loader._display(path),
                            line=1,
                        )
                    )
                for m in blocks:
                    # keep the lines above the body, so errors point at the file's lines
                    body = "\n" * text.count("\n", 0, m.start(2)) + m.group(2)
                    node = Node(
                        "snapshot",
                        package.name,
                        m.group(1),
                        path,
                        loader._display(path),
                        # dbt's snapshot fqn has the file's name too: [project,
                        # folders, file, snapshot]
                        fqn(loader, package, base, path, path.stem) + [m.group(1)],
                        raw=body,
                    )
                    add_node(loader, node)
        if package is not loader.settings.project:
            continue  # a package's tests are not run by the project's build
        for folder in package.test_paths:
            base = package.root / folder
            for path in loader._files(package, (folder,), (".sql",)):
                rel = path.relative_to(base).parts
                text = loader._read(path)
                if "fixtures" in rel[:-1]:
                    continue  # a unit test's rows (compiler/dbt/unit_tests.py)
                if "generic" in rel[:-1] or re.search(r"\{%-?\s*(test|macro)\s", text):
                    continue
                node = Node(
                    "test",
                    package.name,
                    path.stem,
                    path,
                    loader._display(path),
                    fqn(loader, package, base, path, path.stem),
                    raw=text,
                )
                add_node(loader, node)
