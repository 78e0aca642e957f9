"""Quality of the diagnosis on real photos: the development set, perturbed in every way we know.

    OUT_DIR=.cache/dev-faces ../shared/eval/fetch-dev-faces.sh    # once: the 42 photos
    uv run python bench/quality.py                  # the report (Markdown) on stdout
    uv run python bench/quality.py --json out.json  # and every measurement as JSON
    uv run python bench/quality.py --quick          # the photos only, no perturbed variants

The development set is ``../shared/eval/dev-faces.tsv`` (42 photos fetched from package
registries; never committed) plus ``bench/dev-faces-annotations.tsv``, which says which face of
each group photo is whom. Every face is analysed as it is and in variants: the five casts,
exposure ×0.6 and ×1.4, JPEG q35, downscales to 50 % and 25 %, the skin alone turned warmer and
cooler (hue ±5°), the skin alone darker (×0.7 in linear light), and a white card pasted beside the
face under each cast and exposure. Everything runs with the light correction on and off. It
prints, against the targets of docs/benchmarks.md:

- tone order: the share of clear pairs of different people (tone ranks ≥ 2 apart) whose ITA°
  comes out in the right order;
- per same-person group, the spread of skin L* and whether one family is given;
- family agreement over all perturbations (a refused variant counts as a disagreement, and
  their number is printed); skin ΔE2000 p95 under the casts and the exposures, and under the
  casts also with L* held at the photo's (the colour alone: the casts are filters that take
  light away too) and the median change of L*;
- how often warmth follows the skin-only undertone shift, and skin L* and ITA° (and the depth
  with them) the skin-only darkening;
- the white card: how often it is found, the corrected skin's ΔE2000 against the uncast card
  photo, and false cards in photos without one;
- the share of the most common family among different people (discrimination), faces analysed,
  the median time, and a reliability table: confidence bucket → how often the family agrees
  with the same face's perturbations and the same person's other photos.

Like every benchmark here it reports numbers and passes or fails nothing.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import itertools
import json
import platform
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from colorseason.analysis import MODEL_VERSION, analyze, landmarks
from colorseason.analysis.colorspace import LUMINANCE, SRGB8_TO_LINEAR, delta_e_2000
from colorseason.analysis.features import FEATURE_NAMES, Measurements, feature_vector
from colorseason.analysis.seasons import SEASONS
from colorseason.errors import ColorseasonError
from colorseason.testing import (
    CASTS_RGB,
    EXPOSURES,
    apply_cast,
    apply_exposure,
    downscale,
    encode,
    paste_white_card,
    recompress,
    scale_skin_lightness,
    shift_skin_hue,
    skin_mask,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TSV = ROOT.parent / "shared" / "eval" / "dev-faces.tsv"
DEFAULT_PHOTOS = ROOT / ".cache" / "dev-faces"
ANNOTATIONS = Path(__file__).with_name("dev-faces-annotations.tsv")

HUE_SHIFT_DEGREES = 5.0
DARKER_SKIN = 0.7
CLEAR_PAIR_RANKS = 2
TARGETS = {
    "tone_order": 0.90,
    "group_lightness_spread": 10.0,
    "cast_delta_e_p95": 3.0,
    "exposure_delta_e_p95": 5.0,
    "family_agreement": 0.95,
    "warmth_follows": 0.90,
    "most_common_family": 0.60,
    "card_delta_e": 2.0,
}
CONFIDENCE_BUCKETS = (0.0, 0.3, 0.5, 0.7, 0.85, 1.01)


@dataclass(frozen=True)
class Face:
    """One face of the development set: which photo, where in it, who, and how dark the skin."""

    file: str
    person: str
    tone_rank: int | None
    centre: tuple[float, float] | None  # None: the photo's only (or largest) face
    note: str = ""

    @property
    def label(self) -> str:
        return self.file if self.centre is None else f"{self.file}@{self.person}"


def load_faces(tsv: Path, annotations: Path) -> list[Face]:
    """The tsv's photos, with each group photo's faces taken from the annotations."""
    annotated: dict[str, list[Face]] = defaultdict(list)
    with annotations.open() as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        for row in rows:
            annotated[row["file"]].append(
                Face(
                    row["file"],
                    row["person"],
                    int(row["tone_rank"]),
                    (float(row["face_x"]), float(row["face_y"])),
                    row.get("note") or "",
                )
            )
    faces: list[Face] = []
    with tsv.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["file"] in annotated:
                faces += annotated[row["file"]]
                continue
            person = row["person"] if row["person"] not in ("", "-") else row["file"]
            rank = int(row["tone_rank"]) if row["tone_rank"] else None
            faces.append(Face(row["file"], person, rank, None, row["note"]))
    return faces


def _matching_face(boxes: list[list[float]], centre: tuple[float, float]) -> int | None:
    """The number of the box that holds ``centre`` (the nearest, if several do)."""
    x, y = centre
    holding = [
        (abs((b[0] + b[2]) / 2 - x) + abs((b[1] + b[3]) / 2 - y), index)
        for index, b in enumerate(boxes)
        if b[0] - 0.2 * (b[2] - b[0]) <= x <= b[2] + 0.2 * (b[2] - b[0])
        and b[1] - 0.2 * (b[3] - b[1]) <= y <= b[3] + 0.2 * (b[3] - b[1])
    ]
    return min(holding)[1] if holding else None


def _features(result: dict[str, Any]) -> list[float]:
    """The model's input features for a result, from its measured colours."""
    lab = {
        part: np.array(result["measurements"][part]["lab"])
        for part in ("skin", "eyes", "hair", "lips")
    }
    measured = Measurements(
        lab["skin"], lab["eyes"], lab["hair"], lab["lips"], False, 0.0, 0.0, 0.0
    )
    return [float(value) for value in feature_vector(measured)[0]]


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    skin = result["measurements"]["skin"]
    lightness, _, b = skin["lab"]
    return {
        "skin_lab": skin["lab"],
        "lightness_sd": skin.get("lightness_sd"),
        "ita": float(np.degrees(np.arctan2(lightness - 50, b))),
        "family": result["season"]["family"],
        "season": result["season"]["id"],
        "warmth": result["dimensions"]["warmth"],
        "depth": result["dimensions"]["depth"],
        "confidence": result["confidence"],
        "reference": result["illumination"].get("reference", "scene"),
        "anchors": result["illumination"].get("exposure_anchors", []),
        "exposure_gain": result["illumination"]["exposure_gain"],
        "cast_degrees": result["illumination"]["cast_degrees"],
        "ms": result["timings_ms"]["total"],
        "features": _features(result),
    }


def diagnose(data: bytes, face: Face, corrected: bool) -> dict[str, Any]:
    """The face's outcome in ``data``, or ``{"error": code}`` (``face_not_found`` when no face of
    the photo lies where the annotation says)."""
    try:
        result = analyze(data, correct_illumination=corrected)
        if face.centre is not None:
            index = _matching_face(result["faces"]["boxes"], face.centre)
            if index is None:
                return {"error": "face_not_found"}
            if index != result["faces"]["analysed"]:
                result = analyze(data, face=index, correct_illumination=corrected)
    except ColorseasonError as error:
        return {"error": error.code}
    return _outcome(result)


def _skin_mask(bgr: np.ndarray, face: Face) -> np.ndarray | None:
    try:
        found = landmarks.detect(bgr)
        index = None if face.centre is None else _matching_face(list(found.boxes), face.centre)
        if face.centre is not None and index is None:
            return None
        return skin_mask(bgr, index)
    except ColorseasonError:
        return None


def _face_box_pixels(bgr: np.ndarray, face: Face) -> tuple[float, float, float, float] | None:
    try:
        found = landmarks.detect(bgr)
    except ColorseasonError:
        return None
    index = found.index if face.centre is None else _matching_face(list(found.boxes), face.centre)
    if index is None:
        return None
    height, width = bgr.shape[:2]
    x0, y0, x1, y1 = found.boxes[index]
    return x0 * width, y0 * height, x1 * width, y1 * height


def _card_level(bgr: np.ndarray, box: tuple[float, float, float, float]) -> float | None:
    """How bright a white card beside this face would be, in linear light; None when there is
    no room beside the face for one.

    Paper reflects about twice what fair skin does: the card is pasted at 1.6 times the face's
    luminance, but no brighter than survives exposure ×1.4 unclipped (a card turned slightly
    away from the light), so that every variant keeps its card."""
    width = bgr.shape[1]
    x0, y0, x1, y1 = (int(v) for v in box)
    if max(x0, width - x1) < 0.6 * (x1 - x0):
        return None
    face = SRGB8_TO_LINEAR[bgr[y0:y1, x0:x1, ::-1]] @ LUMINANCE
    skin = np.percentile(
        face, 75
    )  # the box holds eyes, brows and shadow too: skin is its light part
    return float(np.clip(1.6 * skin, 0.2, 0.65))


def variants(bgr: np.ndarray, face: Face) -> Iterator[tuple[str, str, bytes]]:
    """(kind, name, encoded photo) for every perturbation of one face's photo. Lossless PNG
    except the JPEG round trip, so each variant carries its own change only."""
    for name, gains in CASTS_RGB.items():
        yield "cast", name, encode(apply_cast(bgr, gains), ".png")
    for factor in EXPOSURES:
        yield "exposure", f"exposure ×{factor:g}", encode(apply_exposure(bgr, factor), ".png")
    yield "jpeg", "JPEG q35", encode(recompress(bgr, 35), ".png")
    for fraction in (0.5, 0.25):
        yield "downscale", f"downscale {fraction:.0%}", encode(downscale(bgr, fraction), ".png")
    mask = _skin_mask(bgr, face)
    if mask is not None:
        for degrees in (HUE_SHIFT_DEGREES, -HUE_SHIFT_DEGREES):
            shifted = shift_skin_hue(bgr, mask, degrees)
            yield "skin_hue", f"skin hue {degrees:+g}°", encode(shifted, ".png")
        darker = scale_skin_lightness(bgr, mask, DARKER_SKIN)
        yield "skin_darker", f"skin ×{DARKER_SKIN:g}", encode(darker, ".png")
    box = _face_box_pixels(bgr, face)
    level = None if box is None else _card_level(bgr, box)
    if box is not None and level is not None:
        card = paste_white_card(bgr, box, level)
        yield "card", "card", encode(card, ".png")
        for name, gains in CASTS_RGB.items():
            yield "card_cast", f"card {name}", encode(apply_cast(card, gains), ".png")
        for factor in EXPOSURES:
            exposed = apply_exposure(card, factor)
            yield "card_exposure", f"card exposure ×{factor:g}", encode(exposed, ".png")


MODES = ("corrected", "uncorrected")


def measure(
    faces: list[Face], photos: Path, quick: bool, kinds: set[str] | None = None
) -> list[dict[str, Any]]:
    """One row per face: its outcome as photographed and in every variant, in both modes."""
    rows = []
    for number, face in enumerate(faces, 1):
        data = (photos / face.file).read_bytes()
        row: dict[str, Any] = {"face": face.__dict__ | {"label": face.label}, "variants": []}
        row["original"] = {mode: diagnose(data, face, mode == "corrected") for mode in MODES}
        if not quick and "error" not in row["original"]["corrected"]:
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            for kind, name, encoded in variants(bgr, face):
                if kinds is not None and kind not in kinds:
                    continue
                outcome = {mode: diagnose(encoded, face, mode == "corrected") for mode in MODES}
                row["variants"].append({"kind": kind, "name": name, **outcome})
        print(f"[{number}/{len(faces)}] {face.label}", file=sys.stderr)
        rows.append(row)
    return rows


def _delta_e(a: dict[str, Any], b: dict[str, Any], lightness_held: bool = False) -> float | None:
    """Skin ΔE2000 between two outcomes; with ``lightness_held``, of ``a``'s colour at ``b``'s
    L* (the difference in colour alone)."""
    if "error" in a or "error" in b:
        return None
    moved, reference = np.array(a["skin_lab"]), np.array(b["skin_lab"])
    if lightness_held:
        moved[0] = reference[0]
    return float(delta_e_2000(moved, reference))


def _p95(values: list[float]) -> float | None:
    return float(np.percentile(values, 95)) if values else None


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def summarise(rows: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    """The headline figures for one correction mode."""
    analysed = [row for row in rows if "error" not in row["original"][mode]]
    outcome = {row["face"]["label"]: row["original"][mode] for row in analysed}
    people = {row["face"]["label"]: row["face"]["person"] for row in rows}
    ranks = {row["face"]["label"]: row["face"]["tone_rank"] for row in rows}

    pairs = [
        (a, b)
        for a, b in itertools.combinations(outcome, 2)
        if people[a] != people[b]
        and ranks[a] is not None
        and ranks[b] is not None
        and abs(ranks[a] - ranks[b]) >= CLEAR_PAIR_RANKS
    ]
    # The lighter tone (lower rank) must have the higher ITA°.
    in_order = [(outcome[a]["ita"] > outcome[b]["ita"]) == (ranks[a] < ranks[b]) for a, b in pairs]

    groups: dict[str, list[str]] = defaultdict(list)
    for label in outcome:
        groups[people[label]].append(label)
    group_rows = {
        person: {
            "photos": len(labels),
            "lightness_spread": float(np.ptp([outcome[label]["skin_lab"][0] for label in labels])),
            "families": Counter(outcome[label]["family"] for label in labels),
        }
        for person, labels in groups.items()
        if len(labels) > 1
    }

    def variant_rows(*kinds: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for row in analysed:
            for variant in row["variants"]:
                if variant["kind"] in kinds:
                    yield row, variant

    judged = list(variant_rows("cast", "exposure", "jpeg", "downscale"))
    agreement = [v[mode].get("family") == row["original"][mode]["family"] for row, v in judged]
    cast_delta = [
        d for row, v in variant_rows("cast") if (d := _delta_e(v[mode], row["original"][mode]))
    ]
    # The same, with L* held at the photo's: the casts are filters that also take light away
    # (an exposure change no white balance undoes), so this is what the colour correction
    # itself leaves.
    cast_colour_delta = [
        d
        for row, v in variant_rows("cast")
        if (d := _delta_e(v[mode], row["original"][mode], lightness_held=True)) is not None
    ]
    cast_lightness_change = [
        v[mode]["skin_lab"][0] - row["original"][mode]["skin_lab"][0]
        for row, v in variant_rows("cast")
        if "error" not in v[mode]
    ]
    exposure_delta = [
        d
        for row, v in variant_rows("exposure")
        if (d := _delta_e(v[mode], row["original"][mode])) is not None
    ]
    cast_failed = sum("error" in v[mode] for _, v in variant_rows("cast", "exposure"))

    warmth_follows, depth_follows, tone_follows = [], [], []
    for row in analysed:
        by_name = {v["name"]: v[mode] for v in row["variants"]}
        warmer = by_name.get(f"skin hue {HUE_SHIFT_DEGREES:+g}°", {})
        cooler = by_name.get(f"skin hue {-HUE_SHIFT_DEGREES:+g}°", {})
        base = row["original"][mode]
        if "warmth" in warmer and "warmth" in cooler:
            warmth_follows.append(cooler["warmth"] < base["warmth"] < warmer["warmth"])
        darker = by_name.get(f"skin ×{DARKER_SKIN:g}", {})
        if "depth" in darker:
            depth_follows.append(darker["depth"] > base["depth"] and darker["ita"] < base["ita"])
            # The skin itself: lower L* and ITA°, whatever the hair and irises do.
            tone_follows.append(
                darker["skin_lab"][0] < base["skin_lab"][0] and darker["ita"] < base["ita"]
            )

    card_rows = [
        (row, by_name)
        for row in analysed
        if "error"
        not in (by_name := {v["name"]: v[mode] for v in row["variants"]}).get(
            "card", {"error": "none"}
        )
    ]
    card_found = [
        outcome_.get("reference") == "white_card"
        for row, by_name in card_rows
        for name, outcome_ in by_name.items()
        if name.startswith("card")
    ]
    card_delta = [
        d
        for _, by_name in card_rows
        for name, outcome_ in by_name.items()
        if name.startswith("card ")
        and outcome_.get("reference") == "white_card"
        and by_name["card"].get("reference") == "white_card"
        and (d := _delta_e(outcome_, by_name["card"])) is not None
    ]
    false_cards = sum(
        v[mode].get("reference") == "white_card"
        for row in analysed
        for v in row["variants"]
        if not v["kind"].startswith("card")
    ) + sum(outcome[label].get("reference") == "white_card" for label in outcome)
    without_card = sum(
        1 for row in analysed for v in row["variants"] if not v["kind"].startswith("card")
    ) + len(outcome)

    first_photo_of: dict[str, str] = {}
    for label in outcome:
        first_photo_of.setdefault(people[label], label)
    families = Counter(outcome[label]["family"] for label in first_photo_of.values())
    most_common = families.most_common(1)[0] if families else ("–", 0)

    reliability = []
    for low, high in itertools.pairwise(CONFIDENCE_BUCKETS):
        agree: list[bool] = []
        for row in analysed:
            base = row["original"][mode]
            if not low <= base["confidence"] < high:
                continue
            agree += [
                v[mode].get("family") == base["family"]
                for v in row["variants"]
                if v["kind"] in ("cast", "exposure", "jpeg", "downscale")
            ]
            label = row["face"]["label"]
            agree += [
                outcome[other]["family"] == base["family"]
                for other in groups[people[label]]
                if other != label
            ]
        reliability.append(
            {"bucket": f"{low:.2f}–{min(high, 1):.2f}", "n": len(agree), "agreement": _share(agree)}
        )

    references = Counter(outcome[label]["reference"] for label in outcome)
    return {
        "faces": len(rows),
        "faces_analysed": len(analysed),
        "errors": Counter(row["original"][mode]["error"] for row in rows if row not in analysed),
        "tone_pairs": len(pairs),
        "tone_order": _share(in_order),
        "groups": group_rows,
        "groups_one_family": sum(len(g["families"]) == 1 for g in group_rows.values()),
        "group_lightness_spread_max": max(
            (g["lightness_spread"] for g in group_rows.values()), default=None
        ),
        "family_agreement": _share(agreement),
        "variants_judged": len(agreement),
        "cast_delta_e_p95": _p95(cast_delta),
        "cast_colour_delta_e_p95": _p95(cast_colour_delta),
        "cast_lightness_change_p50": float(np.median(cast_lightness_change))
        if cast_lightness_change
        else None,
        "variants_refused": sum("error" in v[mode] for _, v in judged),
        "exposure_delta_e_p95": _p95(exposure_delta),
        "cast_or_exposure_failed": cast_failed,
        "warmth_follows": _share(warmth_follows),
        "warmth_judged": len(warmth_follows),
        "depth_follows": _share(depth_follows),
        "tone_follows": _share(tone_follows),
        "card_found": _share(card_found),
        "card_delta_e_p95": _p95(card_delta),
        "card_delta_e_max": max(card_delta, default=None),
        "false_cards": false_cards,
        "photos_without_card": without_card,
        "most_common_family": most_common[0],
        "most_common_family_share": most_common[1] / max(1, len(first_photo_of)),
        "people": len(first_photo_of),
        "families": dict(families),
        "references": dict(references),
        "median_ms": statistics.median(outcome[label]["ms"] for label in outcome)
        if outcome
        else None,
        "reliability": reliability,
    }


def photo_evidence(faces: list[Face], photos: Path) -> Iterator[tuple[Face, Any]]:
    """Each face that can be measured, with its ``pipeline.PhotoEvidence`` (correction on)."""
    from colorseason.analysis import pipeline

    for face in faces:
        data = (photos / face.file).read_bytes()
        try:
            evidence = pipeline.measure_photo(data)
            if face.centre is not None:
                index = _matching_face(list(evidence.found.boxes), face.centre)
                if index is None:
                    continue
                if index != evidence.found.index:
                    evidence = pipeline.measure_photo(data, face=index)
            yield face, evidence
        except ColorseasonError:
            continue


def person_consensus(measured: list[tuple[Face, Any]]) -> dict[str, Any]:
    """For each same-person group of four or more photos: does the combined diagnosis of any
    three of its photos give the same family as the combined diagnosis of the others?"""
    from colorseason.analysis import person, pipeline

    evidence: dict[str, list[pipeline.PhotoEvidence]] = defaultdict(list)
    for face, found in measured:
        evidence[face.person].append(found)

    def family(group: list[pipeline.PhotoEvidence]) -> str:
        probabilities = person.combine(group).probabilities
        totals: dict[str, float] = defaultdict(float)
        for season, probability in zip(SEASONS, probabilities, strict=True):
            totals[season.family] += float(probability)
        return max(totals, key=totals.__getitem__)

    groups = {}
    for name, group in evidence.items():
        if len(group) < 4:
            continue
        same = [
            family([group[i] for i in trio])
            == family([g for i, g in enumerate(group) if i not in trio])
            for trio in itertools.combinations(range(len(group)), 3)
        ]
        groups[name] = {"photos": len(group), "splits": len(same), "agree": _share(same)}
    return groups


def reference_noise(measured: list[tuple[Face, Any]], resamples: int = 2000) -> dict[str, Any]:
    """How far each guess of a photo's exposure strays, told by how far they stray from each
    other (an n-cornered hat): the camera's own exposure (ln 0), the skin's usual lightness, the
    eye whites and the teeth are independent guesses of one ln(exposure), so the variance of each
    pair's difference is the sum of their own two; the pairs give each guess's by least squares.
    The skin's also holds how far this set's people lie from the usual skin (mostly fair here,
    so less than across populations). The 90 % intervals come from resampling the photos (faces
    of one photo share its light)."""
    from colorseason.analysis import illumination, references

    names = ("camera", "skin", "eyes", "teeth")
    readings = [
        (face.file, {"camera": 0.0, **dict(found.light.readings)}) for face, found in measured
    ]
    files = sorted({file for file, _ in readings})
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]

    def variances(sample: list[dict[str, float]]) -> dict[str, float] | None:
        rows, sums = [], []
        for a, b in pairs:
            differences = [r[a] - r[b] for r in sample if a in r and b in r]
            if len(differences) < 3:
                return None
            rows.append([float(name in (a, b)) for name in names])
            sums.append(float(np.var(differences, ddof=1)))
        own = np.linalg.lstsq(np.array(rows), np.array(sums), rcond=None)[0]
        return dict(zip(names, own.tolist(), strict=True))

    estimate = variances([r for _, r in readings])
    if estimate is None:
        return {}
    by_file = defaultdict(list)
    for file, reading in readings:
        by_file[file].append(reading)
    rng = np.random.default_rng(0)
    resampled = []
    for _ in range(resamples):
        picked = rng.choice(len(files), len(files))
        sample = [r for i in picked for r in by_file[files[i]]]
        found = variances(sample)
        if found is not None:
            resampled.append(found)
    usual_skin = ((illumination.SKIN_LIGHTNESS + 16) / 116) ** 3  # luminance at the usual L*
    usual_guess = illumination._skin_guess(usual_skin)
    assert usual_guess is not None
    in_code = {
        "camera": illumination.CAMERA_LOG_SD,
        "skin": usual_guess[1],
        "eyes": references.EYE_LOG_SD,
        "teeth": references.TEETH_LOG_SD,
    }

    def sd(variance: float) -> float:
        return float(np.sqrt(max(variance, 0.0)))

    return {
        name: {
            "faces": sum(name in r for _, r in readings),
            "sd": sd(estimate[name]),
            "low": sd(float(np.percentile([r[name] for r in resampled], 5))),
            "high": sd(float(np.percentile([r[name] for r in resampled], 95))),
            "in_code": in_code[name],
        }
        for name in names
    }


def calibration(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """What the development set says about the model's constants (docs/model-card.md):

    - ``centre``: each feature's median over different people (each person's own median first),
      the face the model is centred on;
    - ``photo_noise``: how far one face's features stray between photos of the same person and
      under the perturbations (pooled standard deviation), the model's photo noise;
    - ``between_people``: the spread between people's medians, for comparison with published
      colorimetry.
    Hue features are compared on the circle.
    """
    analysed = [row for row in rows if "error" not in row["original"]["corrected"]]
    angles = [i for i, name in enumerate(FEATURE_NAMES) if name.endswith("_hue")]

    def unwrap(values: np.ndarray) -> np.ndarray:
        values = values.copy()
        reference = values[0]
        for i in angles:
            values[:, i] = reference[i] + (values[:, i] - reference[i] + 180) % 360 - 180
        return values

    by_person: dict[str, list[list[float]]] = defaultdict(list)
    deviations: list[np.ndarray] = []
    for row in analysed:
        base = row["original"]["corrected"]["features"]
        by_person[row["face"]["person"]].append(base)
        variants = [
            v["corrected"]["features"]
            for v in row["variants"]
            if v["kind"] in ("cast", "exposure", "jpeg", "downscale")
            and "error" not in v["corrected"]
        ]
        if variants:
            group = unwrap(np.array([base, *variants]))
            deviations.append(group - group.mean(axis=0))
    person_medians = []
    for values in by_person.values():
        group = unwrap(np.array(values))
        person_medians.append(np.median(group, axis=0))
        if len(values) > 1:
            deviations.append(group - group.mean(axis=0))
    medians = unwrap(np.array(person_medians))
    pooled = np.concatenate(deviations)
    return {
        "centre": dict(
            zip(FEATURE_NAMES, np.median(medians, axis=0).round(3).tolist(), strict=True)
        ),
        "photo_noise": dict(
            zip(FEATURE_NAMES, np.sqrt((pooled**2).mean(axis=0)).round(3).tolist(), strict=True)
        ),
        "between_people": dict(
            zip(FEATURE_NAMES, medians.std(axis=0, ddof=1).round(3).tolist(), strict=True)
        ),
    }


def _fmt(value: Any, digits: int = 2, percent: bool = False) -> str:
    if value is None:
        return "–"
    if percent:
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _cast_light_loss() -> str:
    """Each cast's luminance loss, as a percentage of the light."""
    return ", ".join(
        f"{name} {1 - float(np.dot(gains, LUMINANCE)):.0%}" for name, gains in CASTS_RGB.items()
    )


def markdown(rows: list[dict[str, Any]], summaries: dict[str, dict[str, Any]]) -> str:
    on, off = summaries["corrected"], summaries["uncorrected"]
    lines = [
        f"Model {MODEL_VERSION}; Python {platform.python_version()} on {platform.machine()}; "
        f"{datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}. "
        f"{on['faces_analysed']} of {on['faces']} faces analysed "
        f"({on['people']} different people).",
        "",
        "| measure | target | correction on | correction off |",
        "|---|---|---:|---:|",
        f"| tone order, clear pairs (n = {on['tone_pairs']}) | ≥ 90 % | "
        f"{_fmt(on['tone_order'], percent=True)} | {_fmt(off['tone_order'], percent=True)} |",
        f"| same-person groups with one family | all {len(on['groups'])} | "
        f"{on['groups_one_family']} | {off['groups_one_family']} |",
        f"| largest skin L* spread in a group | ≤ 10 | "
        f"{_fmt(on['group_lightness_spread_max'], 1)} | "
        f"{_fmt(off['group_lightness_spread_max'], 1)} |",
        f"| family agreement over perturbations (n = {on['variants_judged']}, "
        f"{on['variants_refused']} refused) | ≥ 95 % | "
        f"{_fmt(on['family_agreement'], percent=True)} | "
        f"{_fmt(off['family_agreement'], percent=True)} |",
        f"| skin ΔE2000 p95, five casts | ≤ 3 | {_fmt(on['cast_delta_e_p95'])} | "
        f"{_fmt(off['cast_delta_e_p95'])} |",
        f"| … the same, L* held at the photo's (colour alone) | – | "
        f"{_fmt(on['cast_colour_delta_e_p95'])} | {_fmt(off['cast_colour_delta_e_p95'])} |",
        f"| … median skin L* change under the casts | – | "
        f"{_fmt(on['cast_lightness_change_p50'], 1)} | "
        f"{_fmt(off['cast_lightness_change_p50'], 1)} |",
        f"| skin ΔE2000 p95, exposure ×0.6/×1.4 | ≤ 5 | {_fmt(on['exposure_delta_e_p95'])} | "
        f"{_fmt(off['exposure_delta_e_p95'])} |",
        f"| warmth follows a skin-only hue shift (n = {on['warmth_judged']}) | ≥ 90 % | "
        f"{_fmt(on['warmth_follows'], percent=True)} | "
        f"{_fmt(off['warmth_follows'], percent=True)} |",
        f"| skin L* and ITA° follow skin-only darkening | – | "
        f"{_fmt(on['tone_follows'], percent=True)} | "
        f"{_fmt(off['tone_follows'], percent=True)} |",
        f"| … and the depth with them | – | "
        f"{_fmt(on['depth_follows'], percent=True)} | "
        f"{_fmt(off['depth_follows'], percent=True)} |",
        f"| most common family among different people | ≤ 60 % | "
        f"{_fmt(on['most_common_family_share'], percent=True)} ({on['most_common_family']}) | "
        f"{_fmt(off['most_common_family_share'], percent=True)} ({off['most_common_family']}) |",
        f"| white card found (pasted, under casts and exposures) | – | "
        f"{_fmt(on['card_found'], percent=True)} | – |",
        f"| card photos: skin ΔE2000 vs the uncast card photo, p95 / max | ≤ 2 | "
        f"{_fmt(on['card_delta_e_p95'])} / {_fmt(on['card_delta_e_max'])} | – |",
        f"| false white cards in {on['photos_without_card']} photos without one | 0 | "
        f"{on['false_cards']} | – |",
        f"| median time per photo, ms | – | {_fmt(on['median_ms'], 1)} | "
        f"{_fmt(off['median_ms'], 1)} |",
        "",
        "The casts are filters (each channel times at most 1): they take away "
        f"{_cast_light_loss()} of the light, which only an exposure reference can see.",
        "",
        f"References used (correction on): {on['references']}. "
        f"Families (one photo per person): {on['families']}. Errors: {dict(on['errors'])}.",
        "",
        "Same-person groups (correction on):",
        "",
        "| person | photos | skin L* spread | families |",
        "|---|---:|---:|---|",
    ]
    for person, group in sorted(on["groups"].items()):
        families = ", ".join(f"{f} {n}" for f, n in group["families"].most_common())
        lines.append(
            f"| {person} | {group['photos']} | {group['lightness_spread']:.1f} | {families} |"
        )
    lines += [
        "",
        "Reliability (correction on): confidence of the photo → how often its family agrees "
        "with its own perturbations and the same person's other photos.",
        "",
        "| confidence | comparisons | agreement |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {b['bucket']} | {b['n']} | {_fmt(b['agreement'], percent=True)} |"
        for b in on["reliability"]
    ]
    lines += [
        "",
        "Every face (correction on):",
        "",
        "| face | tone | skin L\\*a\\*b\\* | ± L* | ITA° | season | conf. | reference |",
        "|---|---:|---|---:|---:|---|---:|---|",
    ]
    for row in rows:
        outcome = row["original"]["corrected"]
        face = row["face"]
        if "error" in outcome:
            lines.append(
                f"| {face['label']} | {_fmt(face['tone_rank'])} | `{outcome['error']}` | | | | | |"
            )
            continue
        lab = " ".join(f"{v:.1f}" for v in outcome["skin_lab"])
        lines.append(
            f"| {face['label']} | {_fmt(face['tone_rank'])} | {lab} | "
            f"{_fmt(outcome['lightness_sd'], 1)} | {outcome['ita']:.1f} | {outcome['season']} | "
            f"{outcome['confidence']:.2f} | {outcome['reference']} |"
        )
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Counter):
        return dict(value)
    raise TypeError(type(value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tsv", type=Path, default=DEFAULT_TSV, help="dev-faces.tsv")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="the fetched photos")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--quick", action="store_true", help="the photos only, no variants")
    parser.add_argument("--only", help="only faces whose label contains this")
    parser.add_argument("--kinds", help="only these variant kinds, comma-separated (e.g. cast)")
    parser.add_argument(
        "--calibration", action="store_true", help="also print what the set says of the model"
    )
    parser.add_argument(
        "--person", action="store_true", help="also test the consensus of several photos"
    )
    args = parser.parse_args()
    if not args.tsv.is_file():
        raise SystemExit(f"quality: {args.tsv} not found (it lives in ../shared/eval)")
    faces = load_faces(args.tsv, ANNOTATIONS)
    if args.only:
        faces = [face for face in faces if args.only in face.label]
    missing = [face.file for face in faces if not (args.photos / face.file).is_file()]
    if missing:
        raise SystemExit(
            f"quality: {len(missing)} photos missing in {args.photos}; fetch them with\n"
            f"  OUT_DIR={args.photos} {args.tsv.parent / 'fetch-dev-faces.sh'}"
        )
    kinds = set(args.kinds.split(",")) if args.kinds else None
    rows = measure(faces, args.photos, args.quick, kinds)
    summaries = {mode: summarise(rows, mode) for mode in MODES}
    print(markdown(rows, summaries))
    measured = list(photo_evidence(faces, args.photos)) if args.person or args.calibration else []
    if args.person:
        groups = person_consensus(measured)
        print("\nSeveral photos of one person: any three against the others, same family?\n")
        print("| person | photos | splits | same family |\n|---|---:|---:|---:|")
        for name, group in groups.items():
            share = _fmt(group["agree"], percent=True)
            print(f"| {name} | {group['photos']} | {group['splits']} | {share} |")
    if args.calibration:
        print(json.dumps(calibration(rows), indent=1))
        noise = reference_noise(measured)
        print("\nHow far each guess of the exposure strays (ln units; n-cornered hat):\n")
        print("| guess | faces | sd | 90 % interval | in the code |\n|---|---:|---:|---|---:|")
        for name, found in noise.items():
            print(
                f"| {name} | {found['faces']} | {found['sd']:.2f} | "
                f"{found['low']:.2f}–{found['high']:.2f} | {found['in_code']:.2f} |"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"model": MODEL_VERSION, "rows": rows, "summary": summaries},
                default=_jsonable,
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
