"""Robustness of the diagnosis to light, exposure, compression, resolution and framing.

    uv run python bench/robustness.py            # Markdown tables
    uv run python bench/robustness.py --json     # every measurement as JSON

For each bundled test face (astronaut, grace_hopper) the script makes synthetic variants with the
generators in ``colorseason.testing`` — five illuminant casts, exposure ×0.6 / ×1.4 (all in
linear RGB), JPEG quality 35, downscaling to 25 %, and the photo at 30 % of a larger neutral
frame — and analyses each with and without illumination correction, against the unaltered photo
analysed the same way. It prints:

- ΔE2000 between each cast variant's skin colour and the original's (median, p95, max, per cast):
  the correction should hold skin within ΔE2000 ≤ 3 at p95 (about one just-noticeable difference);
- how often the season family matches the original's over casts, exposures, JPEG and downscale
  variants (target ≥ 95 %);
- whether a face is found when the photo spans 30 % of the frame.

Variants are encoded losslessly (PNG) so each carries only its own degradation. Like every
benchmark here, it reports numbers and passes or fails nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
from collections.abc import Iterator
from typing import Any

import numpy as np

from colorseason.analysis import MODEL_VERSION, analyze
from colorseason.analysis.colorspace import delta_e_2000
from colorseason.errors import ColorseasonError
from colorseason.testing import (
    CASTS_RGB,
    SAMPLE_NAMES,
    degraded_variants,
    embed_small,
    encode,
    sample_bgr,
)

SMALL_FRACTION = 0.30
DELTA_E_TARGET = 3.0
AGREEMENT_TARGET = 0.95


def variants(bgr: np.ndarray) -> Iterator[tuple[str, str, np.ndarray]]:
    """(kind, name, image) for every degraded version of one photo, and the small-face frame."""
    yield from degraded_variants(bgr)
    yield "small", f"photo at {SMALL_FRACTION:.0%} of frame", embed_small(bgr, SMALL_FRACTION)


def _diagnose(data: bytes, corrected: bool) -> dict[str, Any]:
    """The parts of a result this script compares, or the error code."""
    try:
        result = analyze(data, correct_illumination=corrected)
    except ColorseasonError as exc:
        return {"error": exc.code}
    return {
        "skin_lab": result["measurements"]["skin"]["lab"],
        "family": result["season"]["family"],
        "season": result["season"]["id"],
        "issues": [issue["code"] for issue in result["quality"]["issues"]],
    }


def measure() -> list[dict[str, Any]]:
    """One row per (sample, variant) with both correction modes side by side."""
    rows = []
    for sample in SAMPLE_NAMES:
        original = sample_bgr(sample)
        reference = {mode: _diagnose(encode(original, ".png"), mode) for mode in (True, False)}
        rows.append(
            {
                "sample": sample,
                "kind": "original",
                "variant": "original",
                "corrected": reference[True],
                "uncorrected": reference[False],
            }
        )
        for kind, name, image in variants(original):
            row: dict[str, Any] = {"sample": sample, "kind": kind, "variant": name}
            data = encode(image, ".png")
            for mode, label in ((True, "corrected"), (False, "uncorrected")):
                got, ref = _diagnose(data, mode), reference[mode]
                if "error" in ref:
                    raise SystemExit(f"{sample}: the original photo fails: {ref['error']}")
                if "error" not in got:
                    got["delta_e"] = float(delta_e_2000(got["skin_lab"], ref["skin_lab"]))
                    got["family_agrees"] = got["family"] == ref["family"]
                row[label] = got
            rows.append(row)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline figures per correction mode."""
    summary: dict[str, Any] = {}
    casts = [row for row in rows if row["kind"] == "cast"]
    judged = [row for row in rows if row["kind"] not in ("original", "small")]
    for mode in ("corrected", "uncorrected"):
        delta_es = [row[mode]["delta_e"] for row in casts if "delta_e" in row[mode]]
        summary[mode] = {
            "cast_delta_e": {
                "median": float(np.median(delta_es)) if delta_es else None,
                "p95": float(np.percentile(delta_es, 95)) if delta_es else None,
                "max": max(delta_es, default=None),
                "per_cast_max": {
                    cast: max(
                        (
                            row[mode]["delta_e"]
                            for row in casts
                            if row["variant"] == cast and "delta_e" in row[mode]
                        ),
                        default=None,
                    )
                    for cast in CASTS_RGB
                },
                "failed": len(casts) - len(delta_es),
            },
            # A variant with no result counts as disagreeing.
            "family_agreement": sum(row[mode].get("family_agrees", False) for row in judged)
            / len(judged),
            "variants_judged": len(judged),
        }
    summary["small_face_found"] = {
        row["sample"]: row["corrected"].get("error", "found")
        for row in rows
        if row["kind"] == "small"
    }
    return summary


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _cell(outcome: dict[str, Any]) -> str:
    if "error" in outcome:
        return f"error `{outcome['error']}`"
    if "delta_e" not in outcome:  # the original itself: the reference
        return f"reference · {outcome['family']} ({outcome['season']})"
    mark = "✓" if outcome["family_agrees"] else "✗"
    return f"{outcome['delta_e']:.2f} · {mark} {outcome['family']}"


def markdown(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """The tables for docs/benchmarks.md."""
    lines = [
        f"Model {MODEL_VERSION}; Python {platform.python_version()}; "
        f"{datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}.",
        "",
        "Each cell: ΔE2000 of skin vs the original photo analysed the same way · season family "
        "(✓ = same as the original's).",
        "",
        "| sample | variant | with correction | without correction |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {row['sample']} | {row['variant']} | {_cell(row['corrected'])} | "
        f"{_cell(row['uncorrected'])} |"
        for row in rows
    ]
    lines += [
        "",
        f"Casts (n = {sum(row['kind'] == 'cast' for row in rows)}), skin ΔE2000 vs the uncast "
        f"photo; target p95 ≤ {DELTA_E_TARGET:g}:",
        "",
        "| | median | p95 | max | " + " | ".join(f"{cast} max" for cast in CASTS_RGB) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(CASTS_RGB),
    ]
    for mode in ("corrected", "uncorrected"):
        stats = summary[mode]["cast_delta_e"]
        per_cast = " | ".join(_number(stats["per_cast_max"][cast]) for cast in CASTS_RGB)
        failed = f" ({stats['failed']} failed)" if stats["failed"] else ""
        lines.append(
            f"| {mode}{failed} | {_number(stats['median'])} | {_number(stats['p95'])} | "
            f"{_number(stats['max'])} | {per_cast} |"
        )
    judged = summary["corrected"]["variants_judged"]
    lines += [
        "",
        f"Season family agreement over {judged} variants (casts, exposures, JPEG, downscale); "
        f"target ≥ {AGREEMENT_TARGET:.0%}: with correction "
        f"**{summary['corrected']['family_agreement']:.0%}**, without "
        f"{summary['uncorrected']['family_agreement']:.0%}.",
        "",
        f"Photo at {SMALL_FRACTION:.0%} of the frame width: "
        + ", ".join(f"{sample} {found}" for sample, found in summary["small_face_found"].items())
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args()
    rows = measure()
    summary = summarise(rows)
    if args.json:
        print(json.dumps({"model": MODEL_VERSION, "rows": rows, "summary": summary}, indent=2))
    else:
        print(markdown(rows, summary))


if __name__ == "__main__":
    main()
