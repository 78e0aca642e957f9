"""Dependencies point one way (docs/design.md#layout): no module imports a layer above its own.

Every import counts, at the top of a module or inside a function, so a lazy import cannot hide a
dependency that a function image (which installs only its own extra) would not satisfy.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "colorseason"

# Bottom to top. A module may import its own part and the parts of the layers below it: never a
# part of its own layer (siblings know nothing of each other) nor of a layer above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("colorseason", "errors", "logs"),  # the package (its version), every error, the log lines
    ("analysis",),  # the pipeline: pure, nothing of the service but errors
    ("events", "config"),  # the event contract, the settings (image types, limits: analysis's)
    ("status", "results", "i18n"),  # the stores (neither knows the other), the texts
    ("jobs", "report", "web"),  # analyze's job flow, the HTML report, the HTTP edge
    # The deploy units and the development tools: a function image has no `local` extra and no
    # dev group, so no function may import them (nor they a function).
    ("functions", "local", "testing"),
    ("cli",),  # the command: the only part that starts `local`'s servers
)
LAYER_OF = {part: number for number, parts in enumerate(LAYERS) for part in parts}


def _sources() -> dict[str, Path]:
    """Every module by dotted name: the library's, and each function's ``functions.<name>``."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("colorseason", *path.relative_to(PACKAGE).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in sorted((ROOT / "functions").glob("*/main.py")):
        modules[f"functions.{path.parent.name}"] = path
    return modules


def _part(module: str) -> str | None:
    """The part of the house a dotted name belongs to; None outside it (the standard library,
    third-party packages)."""
    names = module.split(".")
    if names[0] == "functions":
        return "functions"
    if names[0] != "colorseason":
        return None
    if len(names) > 1 and ((PACKAGE / names[1]).is_dir() or (PACKAGE / f"{names[1]}.py").is_file()):
        return names[1]
    return "colorseason"  # the package's own names (`from colorseason import __version__`)


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import statement in the file, nested ones too."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base == "colorseason":  # `from colorseason import analysis`: the part is the name
                found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((base, node.lineno))
    return found


def test_every_part_has_a_layer() -> None:
    """A new module or package gets a place in LAYERS before it can import anything."""
    parts = {_part(module) for module in _sources()}
    assert parts == set(LAYER_OF)


def _violations(modules: dict[str, Path]) -> list[str]:
    """One line per import of a part that is not below the importing module's own."""
    wrong = []
    for module, path in modules.items():
        part = _part(module)
        assert part is not None, module
        for imported, line in _imports(module, path):
            target = _part(imported)
            if target is None or target == part or LAYER_OF[target] < LAYER_OF[part]:
                continue
            wrong.append(
                f"{path.name}:{line} {module} ({part}, layer {LAYER_OF[part]}) "
                f"imports {imported} ({target}, layer {LAYER_OF[target]})"
            )
    return wrong


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert _violations(_sources()) == []


def test_an_import_inside_a_function_counts(tmp_path: Path) -> None:
    """The check can fail: a lazy import of a layer above is found like a top-level one, so is a
    sibling of the same layer and a relative import, while a layer below passes."""
    store = tmp_path / "store.py"
    store.write_text(
        "from colorseason.errors import StoreUnavailableError\n\n\n"
        "def connect(url):\n"
        "    from colorseason.local.embedded import start_redis\n"
        "    from colorseason import results\n"
        "    from ..local import servers\n"
    )
    assert _violations({"colorseason.status.store": store}) == [
        "store.py:5 colorseason.status.store (status, layer 3) imports "
        "colorseason.local.embedded (local, layer 5)",
        "store.py:6 colorseason.status.store (status, layer 3) imports "
        "colorseason.results (results, layer 3)",
        "store.py:7 colorseason.status.store (status, layer 3) imports "
        "colorseason.local (local, layer 5)",
    ]
