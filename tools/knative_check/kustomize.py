"""Kustomizations: what ``kubectl apply -k`` refuses before it renders anything, and what it
would silently leave out or move.

Kustomize is not run here (the tests render with ``kubectl kustomize`` where it is installed and
check the output too): this layer checks the files themselves.
"""

from __future__ import annotations

from pathlib import Path

from .core import KUSTOMIZATION_NAMES, Document, mapping, sequence

# Top-level fields of kustomize's Kustomization (v5); anything else makes kustomize refuse it.
FIELDS = {
    "apiVersion", "kind", "metadata", "openapi", "namePrefix", "nameSuffix", "namespace",
    "commonLabels", "labels", "commonAnnotations", "patches", "patchesStrategicMerge",
    "patchesJson6902", "images", "replacements", "replicas", "configMapGenerator",
    "secretGenerator", "generatorOptions", "vars", "resources", "components", "crds", "bases",
    "configurations", "generators", "transformers", "validators", "buildMetadata", "helmCharts",
    "helmGlobals", "sortOptions",
}  # fmt: skip
DEPRECATED = {
    "bases": "resources",
    "commonLabels": "labels",
    "patchesStrategicMerge": "patches",
    "patchesJson6902": "patches",
    "vars": "replacements",
}
# ConfigMaps Knative reads from its own namespaces only.
KNATIVE_CONFIG_MAPS = {"config-features", "config-autoscaler", "config-defaults"}
JSON_PATCH_OPERATIONS = {"add", "remove", "replace", "move", "copy", "test"}


def _kustomization_in(directory: Path) -> Path | None:
    return next((directory / n for n in KUSTOMIZATION_NAMES if (directory / n).is_file()), None)


def check(documents: list[Document]) -> tuple[set[Path], set[Path]]:
    """Check every kustomization. Returns the files they use as patches (checked as partial
    objects by the other layers) and the files of Knative ConfigMaps a ``namespace:`` moves
    (whose settings Knative would then not see)."""
    patches: set[Path] = set()
    by_path = {d.path.resolve(): d for d in documents if d.role == "kustomization"}
    for document in by_path.values():
        patches |= _check_one(document)
    listed = {p for d in by_path.values() for p in _listed_files(d)} | patches
    warned: set[Path] = set()
    for document in documents:
        path = document.path.resolve()
        owner = _kustomization_in(path.parent)
        if document.role == "object" and owner and path not in listed | warned:
            warned.add(path)
            document.warning(
                "",
                f"{owner.name} in this directory does not list this file: kubectl apply -k "
                "would not apply it",
            )
    return patches, _moved_config_maps(by_path, documents)


def _check_one(document: Document) -> set[Path]:
    body = document.body
    if not isinstance(body, dict):
        document.error("", "a kustomization must be a mapping")
        return set()
    kinds = {
        ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
        ("kustomize.config.k8s.io/v1alpha1", "Component"),
    }
    if (
        body.get("apiVersion", "kustomize.config.k8s.io/v1beta1"),
        body.get("kind", "Kustomization"),
    ) not in kinds:
        document.error("kind", f"not a Kustomization: {body.get('apiVersion')} {body.get('kind')}")
    for field in sorted(set(body) - FIELDS):
        document.error(field, "unknown field: kustomize refuses the kustomization")
    for field in sorted(set(body) & set(DEPRECATED)):
        document.warning(field, f"deprecated: use {DEPRECATED[field]}")
    directory = document.path.parent
    for field in ("resources", "bases", "components"):
        for i, entry in enumerate(sequence(body.get(field))):
            target = directory / str(entry)
            if "://" in str(entry) or str(entry).startswith("github.com/"):
                continue  # a remote base: not fetched here
            if target.is_dir():
                if not _kustomization_in(target):
                    document.error(f"{field}[{i}]", f"{entry}: directory without a kustomization")
            elif not target.is_file():
                document.error(f"{field}[{i}]", f"{entry}: no such file or directory")
    patches = set()
    for field, key in (
        ("patches", "path"),
        ("patchesStrategicMerge", None),
        ("patchesJson6902", "path"),
    ):
        for i, entry in enumerate(sequence(body.get(field))):
            name = mapping(entry).get(key) if key else entry
            if name is None:
                continue  # an inline patch
            target = directory / str(name)
            if not target.is_file():
                document.error(f"{field}[{i}]", f"{name}: no such file")
            else:
                patches.add(target.resolve())
    for field in ("configMapGenerator", "secretGenerator"):
        for i, generator in enumerate(map(mapping, sequence(body.get(field)))):
            for entry in [*sequence(generator.get("files")), *sequence(generator.get("envs"))]:
                file = str(entry).partition("=")[2] or str(entry)
                if not (directory / file).is_file():
                    document.error(f"{field}[{i}]", f"{file}: no such file")
    return patches


def _listed_files(document: Document) -> list[Path]:
    body, directory = mapping(document.body), document.path.parent
    entries = [*sequence(body.get("resources")), *sequence(body.get("crds"))]
    entries += [mapping(p).get("path") for p in sequence(body.get("patches"))]
    entries += sequence(body.get("patchesStrategicMerge"))
    return [(directory / str(e)).resolve() for e in entries if e is not None]


def _reachable(kustomization: Path, by_path: dict[Path, Document], seen: set[Path]) -> set[Path]:
    """Resource files a kustomization applies, through the kustomizations it includes."""
    if kustomization in seen or kustomization not in by_path:
        return set()
    seen.add(kustomization)
    files = set()
    for entry in sequence(mapping(by_path[kustomization].body).get("resources")):
        target = (kustomization.parent / str(entry)).resolve()
        if target.is_file():
            files.add(target)
        elif target.is_dir() and (inner := _kustomization_in(target)):
            files |= _reachable(inner.resolve(), by_path, seen)
    return files


def _moved_config_maps(by_path: dict[Path, Document], documents: list[Document]) -> set[Path]:
    """A ``namespace:`` moves every object it applies, Knative's own ConfigMaps included, where
    Knative no longer reads them (and the settings silently do not apply)."""
    moved = set()
    config_files = {
        d.path.resolve(): d
        for d in documents
        if d.role == "object" and d.kind == "ConfigMap" and d.name in KNATIVE_CONFIG_MAPS
    }
    for path, kustomization in by_path.items():
        namespace = mapping(kustomization.body).get("namespace")
        if not namespace:
            continue
        for file in sorted(_reachable(path, by_path, set()) & set(config_files)):
            moved.add(file)
            kustomization.warning(
                "namespace",
                f"moves ConfigMap {config_files[file].name} ({file.name}) to namespace "
                f"{namespace}, where Knative does not read it: its settings are not applied",
            )
    return moved


def check_json_patch(document: Document) -> None:
    """A JSON 6902 patch file: a list of operations, each with an op and a JSON-pointer path."""
    for i, operation in enumerate(map(mapping, sequence(document.body))):
        op, path = operation.get("op"), operation.get("path")
        if op not in JSON_PATCH_OPERATIONS:
            document.error(
                f"[{i}].op", f"invalid value: {op!r} ({', '.join(sorted(JSON_PATCH_OPERATIONS))})"
            )
        if not isinstance(path, str) or not path.startswith("/"):
            document.error(
                f"[{i}].path", f"invalid value: {path!r} (a JSON pointer such as /spec/x)"
            )
        if op in ("add", "replace", "test") and "value" not in operation:
            document.error(f"[{i}].value", f"missing field(s): {op} needs a value")
        if op in ("move", "copy") and "from" not in operation:
            document.error(f"[{i}].from", f"missing field(s): {op} needs from")
