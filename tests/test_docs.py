"""The repository stands on its own: its references to its documents lead somewhere.

A newcomer who clones the repository follows ``docs/design.md#flows`` from a docstring or a
manifest comment; a link to a section that was renamed, or to a document outside the repository,
is a dead end. These tests read every source, manifest and document the repository ships.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLACES = ("src", "functions", "tests", "bench", "tools", "knative", "eventing", "docs", ".ci")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".js", ".html", ".css", ".sh", ".json"}
# A document and a section of it: `design.md#flows`, `docs/api.md#long-polling`, ...
SECTION_LINK = re.compile(r"(?<![\w/.-])((?:docs/)?[\w-]+\.md)#([\w-]+)")


def _texts() -> dict[str, str]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "dev"]
    for place in PLACES:
        files += [
            path
            for path in sorted((ROOT / place).rglob("*"))
            if path.is_file() and (path.suffix in SUFFIXES or path.name == "Dockerfile")
        ]
    return {
        str(path.relative_to(ROOT)): path.read_text("utf-8", errors="replace")
        for path in files
        if ".venv" not in path.parts and "__pycache__" not in path.parts
    }


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


@cache
def _sections(document: str) -> frozenset[str]:
    path = ROOT / document if document == "README.md" else ROOT / "docs" / Path(document).name
    if not path.is_file():
        return frozenset()
    text = re.sub(r"```.*?```", "", path.read_text("utf-8"), flags=re.DOTALL)  # no code blocks
    return frozenset(_anchor(line.lstrip("#")) for line in text.splitlines() if line[:1] == "#")


def _links() -> list[tuple[str, str, str]]:
    return [
        (where, document, section)
        for where, text in _texts().items()
        for document, section in SECTION_LINK.findall(text)
    ]


def test_the_design_document_is_linked_from_the_code() -> None:
    linked = {(document, section) for _, document, section in _links()}
    assert ("docs/design.md", "flows") in linked  # the check below has something to check


@pytest.mark.parametrize(("where", "document", "section"), _links())
def test_every_section_link_names_a_section_that_exists(
    where: str, document: str, section: str
) -> None:
    assert _sections(document), f"{where}: {document} is not a document of this repository"
    assert section in _sections(document), f"{where}: {document} has no section #{section}"


def test_nothing_points_at_a_design_document_outside_the_repository() -> None:
    outside = "DESIGN" + ".md"  # spelled apart, so this file does not match itself
    found = [where for where, text in _texts().items() if outside in text]
    assert found == [], f"{outside} is not in the repository: point at docs/design.md instead"
