"""The documentation stays honest: links lead somewhere, README.md opens with the two
commands CI runs, and the command reference names exactly the commands `teal` has.

Cheap on purpose (one `teal --help` subprocess), so it stays in the fast subset.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

# README.md's first two code blocks, in this order (.ci/run runs the same two commands)
FIRST_COMMANDS = ("pip install -e . && teal build", "bash scripts/test.sh")
README_MAX_LINES = 250

FENCED = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
# `teal build ...` in inline code, or a command line in a code block
NAMED_COMMAND = re.compile(r"`teal ([a-z][a-z0-9_-]*)")
COMMAND_LINE = re.compile(r"^\s*(?:\$\s+)?teal ([a-z][a-z0-9_-]*)", re.M)
DOCUMENTED_COMMAND = re.compile(r"^#{2,4} `teal ([a-z][a-z0-9_-]*)", re.M)


def _prose(text: str) -> str:
    """``text`` without code blocks and inline code (links and headings there are code)."""
    return INLINE_CODE.sub("", FENCED.sub("", text))


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def _anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for match in HEADING.finditer(FENCED.sub("", path.read_text(encoding="utf-8"))):
        slug = _anchor(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(found)


@cache
def _help_commands() -> frozenset[str]:
    """The commands `teal --help` lists."""
    done = subprocess.run(
        [sys.executable, "-m", "teal.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    listed = done.stdout.split("Commands:", 1)[1]
    return frozenset(re.findall(r"^  ([a-z][a-z0-9_-]*)(?:\s|$)", listed, re.M))


def _code_blocks(text: str) -> list[str]:
    return [m.group(2).strip() for m in FENCED.finditer(text)]


def test_anchors_are_made_as_github_makes_them() -> None:
    assert _anchor("`teal plan`") == "teal-plan"
    assert _anchor("A model's version") == "a-models-version"
    assert _anchor("Files in `target/`") == "files-in-target"
    assert _anchor("20 checks on a 10-million-row table (`checks_fusion.py`)") == (
        "20-checks-on-a-10-million-row-table-checks_fusionpy"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_files_and_headings_that_exist(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading '#{anchor}' in {linked.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def test_readme_opens_with_the_two_commands() -> None:
    blocks = _code_blocks(README.read_text(encoding="utf-8"))
    assert tuple(blocks[:2]) == FIRST_COMMANDS


def test_ci_runs_the_readme_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e . && teal build" in ci
    assert "bash scripts/test.sh" in ci


def test_readme_is_a_front_door_not_a_reference() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines; move reference material to docs/"
    )


def test_readme_links_every_docs_page() -> None:
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in LINK.findall(_prose(README.read_text(encoding="utf-8")))
    }
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README.md does not link docs/{', docs/'.join(missing)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_named_in_the_docs_exist(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    named = set(NAMED_COMMAND.findall(text))
    for block in _code_blocks(text):
        named |= set(COMMAND_LINE.findall(block))
    unknown = sorted(named - _help_commands())
    assert not unknown, f"{page.relative_to(ROOT)} names commands teal does not have: {unknown}"


def test_every_command_has_a_section_in_the_cli_reference() -> None:
    documented = set(DOCUMENTED_COMMAND.findall(CLI_DOC.read_text(encoding="utf-8")))
    assert _help_commands(), "teal --help listed no commands"
    assert not _help_commands() - documented, "docs/cli.md has no section for: " + ", ".join(
        sorted(_help_commands() - documented)
    )
    assert not documented - _help_commands(), (
        "docs/cli.md documents commands teal does not have: "
        + ", ".join(sorted(documented - _help_commands()))
    )
