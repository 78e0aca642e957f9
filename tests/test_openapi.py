"""The OpenAPI documents: they resolve from the repository alone, and they tell the truth.

schemathesis (property-based) runs each function's document against that function served over
HTTP by `colorseason up`, with every check but authentication (tests/schemathesis.toml says why,
and what the bounds are). PostgreSQL is the machine's, in a schema of the run's own; Redis is a
fresh embedded server, because schemathesis derandomised sends the same job ids every run, and
their state in the shared Redis would make one run differ from the next.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from colorseason.analysis.formats import IMAGE_MEDIA_TYPES
from local_stack import Stack, running_stack

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("analyze", "status", "results")


def _load(path: Path) -> Any:
    text = path.read_text("utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _pointer(document: Any, fragment: str) -> Any:
    node = document
    for token in filter(None, fragment.split("/")):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_reference_resolves_within_the_repository(name: str) -> None:
    pending, seen = [ROOT / "docs" / "openapi" / f"{name}.yaml"], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        document = _load(path)
        for reference in _references(document):
            target, _, fragment = reference.partition("#")
            assert "://" not in target, f"{path.name}: {reference} needs the network"
            file = (path.parent / target).resolve() if target else path
            assert file.is_file(), f"{path.name}: {reference} names no file"
            assert ROOT in file.parents, f"{path.name}: {reference} leaves the repository"
            _pointer(_load(file), fragment)  # raises KeyError when the fragment is missing
            pending.append(file)
    assert len(seen) > 1 or name != "analyze"  # analyze reaches the event schemas


def test_the_documents_and_the_page_name_the_image_types_the_service_takes() -> None:
    analyze = _load(ROOT / "docs" / "openapi" / "analyze.yaml")
    for path in ("/", "/jobs"):
        content = analyze["paths"][path]["post"]["requestBody"]["content"]
        assert [kind for kind in content if kind.startswith("image/")] == list(IMAGE_MEDIA_TYPES)
    inline = analyze["components"]["schemas"]["RequestedEvent"]["oneOf"][-1]
    assert inline["properties"]["datacontenttype"]["enum"] == list(IMAGE_MEDIA_TYPES)
    page = (ROOT / "src" / "colorseason" / "web_ui" / "index.html").read_text("utf-8")
    assert f'accept="{",".join(IMAGE_MEDIA_TYPES)}"' in page


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("up"), env={"REDIS_URL": None}) as running:
        yield running


@pytest.mark.e2e
@pytest.mark.parametrize("name", DOCUMENTS)
def test_schemathesis_finds_nothing(stack: Stack, name: str) -> None:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", "tests/schemathesis.toml",
        "run", f"docs/openapi/{name}.yaml", "--url", stack.urls[name], "--no-color",
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "tests"),
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
    }
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-2000:]
