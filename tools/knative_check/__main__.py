"""``python -m tools.knative_check [options] PATH...``: check manifests offline (see __init__).

Exit status: 0 when nothing would be rejected (warnings allowed unless --warnings-as-errors),
1 when something would be, or when nothing was found to check; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import check_paths
from .core import EVENTING_FEATURES, SERVING_FEATURES, Cluster, Document


def _features(text: str) -> dict[str, str]:
    """``tolerations,affinity=allowed,delivery-retryafter``: short names are completed with
    ``kubernetes.podspec-``; the value defaults to enabled."""
    features = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if name not in SERVING_FEATURES and name not in EVENTING_FEATURES:
            name = f"kubernetes.podspec-{name.lower()}"
        try:
            Cluster().set_flag(name, value or "enabled")
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        features[name] = value or "enabled"
    return features


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def report(documents: list[Document], *, quiet: bool) -> tuple[int, int]:
    """Print one line per object and per finding; return (errors, warnings)."""
    errors = warnings = 0
    for document in documents:
        name = f"{_display(document.path)} [{document.label}]"
        errors += sum(f.level == "error" for f in document.findings)
        warnings += sum(f.level == "warning" for f in document.findings)
        if not document.findings:
            if not quiet:
                print(f"ok   {name}")
            continue
        print(f"{'FAIL' if document.failed else 'warn'} {name}")
        for finding in sorted(document.findings, key=lambda f: f.level):
            where = f"{finding.where}: " if finding.where else ""
            print(f"     {finding.level}: {where}{finding.message}")
    return errors, warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.knative_check",
        description="Check Knative manifests, kustomizations and func.yaml files offline.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files or directories (walked)")
    parser.add_argument(
        "--features",
        type=_features,
        default={},
        help="the cluster's config-features, e.g. 'tolerations,affinity=allowed' "
        "(short names mean kubernetes.podspec-NAME; default value: enabled)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only findings")
    parser.add_argument("--warnings-as-errors", action="store_true", help="exit 1 on warnings too")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such file or directory: {', '.join(missing)}")
    documents = check_paths(args.paths, args.features)
    errors, warnings = report(documents, quiet=args.quiet)
    print(f"{len(documents)} objects, {errors} errors, {warnings} warnings")
    if not documents:
        print("nothing to check: no YAML files under the given paths", file=sys.stderr)
        return 1
    return 1 if errors or (warnings and args.warnings_as_errors) else 0


if __name__ == "__main__":
    sys.exit(main())
