"""One person, several photos: a consensus diagnosis.

A single photo carries its camera's guess about light and exposure. Several photos of one person
carry several independent guesses, so each photo is measured as usual (its own light, reference
and face), then the evidence is combined per colour, weighted by each photo's quality and by the
reference that set its light (a white card counts most), and robustly: a weighted median, so one
bad photo cannot swing the answer. The model runs once on the combined colours, with the
exposure uncertainty of the photos together (independent guesses narrow it).

Photos that fail (no face, corrupt) are reported and left out; all failing raises the first
photo's error. A photo whose face is plainly someone else's is flagged ``different_person`` and
left out. "Plainly" is judged from landmark proportions that differ between people more than
between one person's photos (the inner eye corners against the outer ones, the nose's length,
the face's height against its width) — not identity recognition: nothing of it is kept or
returned. Two photos of one person in the development set never differ by more than 2.1 of the
within-person spreads; a photo is flagged beyond ``DIFFERENT_PERSON`` = 3.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from colorseason.analysis import decode, illumination, model, pipeline
from colorseason.analysis.colorspace import chroma_hue, lab_to_linear_rgb, reexposed
from colorseason.analysis.features import Measurements, skin_lightness_sd
from colorseason.analysis.formats import MAX_IMAGE_BYTES
from colorseason.errors import BadRequestError, ColorseasonError

MAX_PHOTOS = 5
# What each reference makes a photo's colours worth, against the photo's quality score.
REFERENCE_WEIGHT: dict[str, float] = {"white_card": 3.0, "eyes": 2.0, "scene": 1.0, "none": 0.5}
# Landmark proportions (pairs of landmark pairs: a distance over a distance) and their spread
# between photos of one person on the development set (bench/quality.py's photos).
_PROPORTIONS: dict[str, tuple[tuple[int, int], tuple[int, int], float]] = {
    "inner_eye_over_eyes": ((133, 362), (33, 263), 0.0068),
    "nose_over_eyes": ((168, 2), (33, 263), 0.0153),
    "face_height_over_width": ((10, 152), (234, 454), 0.0281),
    "eyes_over_face_width": ((33, 263), (234, 454), 0.0178),
}
DIFFERENT_PERSON = 3.0


def _proportions(points: np.ndarray) -> np.ndarray:
    """The face's proportions, each in units of its within-person spread."""

    def distance(pair: tuple[int, int]) -> float:
        return float(np.linalg.norm(points[pair[0], :2] - points[pair[1], :2]))

    return np.array(
        [
            distance(top) / max(distance(bottom), 1e-6) / spread
            for top, bottom, spread in _PROPORTIONS.values()
        ]
    )


def _strangers(evidence: list[pipeline.PhotoEvidence], weights: np.ndarray) -> set[int]:
    """Which photos show plainly someone else: further than ``DIFFERENT_PERSON`` from the median
    of the others' proportions. Of two photos that differ so, the lighter-weighted one."""
    if len(evidence) < 2:
        return set()
    shapes = np.array([_proportions(each.found.points) for each in evidence])
    far = []
    for index in range(len(evidence)):
        others = np.median(np.delete(shapes, index, axis=0), axis=0)
        # Two photos' difference has twice one photo's variance: the 1/sqrt(2) keeps the scale.
        distance = float(np.sqrt(np.mean(((shapes[index] - others) / np.sqrt(2)) ** 2)))
        far.append(distance > DIFFERENT_PERSON)
    if len(evidence) == 2:
        return {int(np.argmin(weights))} if any(far) else set()
    strangers = {index for index, is_far in enumerate(far) if is_far}
    # Photos that all differ from each other leave no one to compare with: keep them all.
    return strangers if len(strangers) < len(evidence) else set()


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per column of ``values`` (photos x channels): the value at half the total weight, the
    mean of the two middle values when half falls between them."""
    result = np.empty(values.shape[1])
    half = weights.sum() / 2
    for column in range(values.shape[1]):
        order = np.argsort(values[:, column])
        cumulative = np.cumsum(weights[order])
        below = int(np.searchsorted(cumulative, half))
        if np.isclose(cumulative[below], half) and below + 1 < len(order):
            result[column] = values[order[[below, below + 1]], column].mean()
        else:
            result[column] = values[order[below], column]
    return result


def _combined(
    evidence: list[pipeline.PhotoEvidence], weights: np.ndarray
) -> tuple[Measurements, float]:
    """The photos' colours combined, and the exposure uncertainty of them together.

    Each photo's own evidence of its exposure (the camera, its references) is independent of the
    others', so their precisions add, weighted by the photos' trust. The skin's plausible
    lightness is a prior about the person, not the photo: each photo's colours are taken back to
    its own evidence's exposure, combined, and the prior applied once, to the combination."""
    own = [e.light.own_exposure for e in evidence]
    shifts = [
        mine[0] - math.log(e.light.exposure_gain) if mine else 0.0
        for e, mine in zip(evidence, own, strict=True)
    ]
    sds = np.array(
        [
            mine[1] if mine else e.light.log_exposure_sd
            for e, mine in zip(evidence, own, strict=True)
        ]
    )

    def median(part: str) -> np.ndarray:
        values = [
            reexposed(getattr(e.measured, part), k) for e, k in zip(evidence, shifts, strict=True)
        ]
        return _weighted_median(np.array(values), weights)

    colours = {part: median(part) for part in ("skin", "eyes", "hair", "lips")}
    log_sd = float(1 / np.sqrt(np.sum((weights / weights.max()) / sds**2)))
    if all(mine is not None for mine in own):
        shift, log_sd = illumination.with_skin_prior(
            lab_to_linear_rgb(colours["skin"]), 0.0, log_sd
        )
        # No photo's exposure beyond what its references allow, as for one photo alone.
        limits = [illumination.exposure_limit(e.light.anchors) for e in evidence]
        low = max(-limit - mine[0] for limit, mine in zip(limits, own, strict=True) if mine)
        high = min(limit - mine[0] for limit, mine in zip(limits, own, strict=True) if mine)
        if low <= high:
            shift = float(np.clip(shift, low, high))
        colours = {part: reexposed(colour, shift) for part, colour in colours.items()}
    first = evidence[int(np.argmax(weights))].measured
    measured = replace(
        first,
        skin=colours["skin"],
        eyes=colours["eyes"],
        hair=colours["hair"],
        lips=colours["lips"],
        hair_from_brows=all(e.measured.hair_from_brows for e in evidence),
        lightness_sd=skin_lightness_sd(colours["skin"], log_sd),
    )
    return measured, log_sd


def _hue_spread(labs: list[np.ndarray]) -> float:
    """The smallest arc of hue angles that holds them all, in degrees."""
    hues = np.sort([chroma_hue(lab)[1] for lab in labs])
    gaps = np.diff(np.concatenate([hues, hues[:1] + 360]))
    return float(360 - gaps.max())


@dataclass(frozen=True)
class Consensus:
    """What several photos of one person say together."""

    probabilities: np.ndarray
    dimensions: np.ndarray
    measured: Measurements
    log_exposure_sd: float
    kept: list[int]  # the photos combined (indices into the evidence)
    strangers: set[int]  # the photos of plainly someone else
    best: int  # the photo that weighs most


def combine(evidence: Sequence[pipeline.PhotoEvidence]) -> Consensus:
    """Combine the evidence of photos of one person (at least one) and ask the model once."""
    weights = np.maximum(
        [e.quality_score * REFERENCE_WEIGHT[e.light.reference] for e in evidence], 1e-3
    )
    strangers = _strangers(list(evidence), weights)
    kept = [i for i in range(len(evidence)) if i not in strangers]
    measured, log_sd = _combined([evidence[i] for i in kept], weights[kept])
    probabilities, dimensions = pipeline.predict(measured, log_sd)
    best = kept[int(np.argmax(weights[kept]))]
    return Consensus(probabilities, dimensions, measured, log_sd, kept, strangers, best)


def analyze_person(
    photos: Sequence[bytes],
    *,
    faces: Sequence[int | None] | None = None,
    correct_illumination: bool = True,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = decode.MAX_PIXELS,
) -> dict[str, Any]:
    """One diagnosis from 1 to ``MAX_PHOTOS`` photos of one person (docs/api.md).

    ``faces`` picks the face in each photo (as ``analyze``'s ``face``). The result has the usual
    shape, describes the combined colours, and adds ``photos`` (per photo: ``ok``, ``error``,
    ``season``, ``families``, ``quality``, ``reference``, ``different_person``) and
    ``agreement``. ``faces`` and ``illumination`` are those of the photo that weighs most.
    """
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise BadRequestError(f"Send 1 to {MAX_PHOTOS} photos of one person, not {len(photos)}.")
    chosen = list(faces) if faces is not None else [None] * len(photos)
    if len(chosen) != len(photos):
        raise BadRequestError("Give a face number for every photo, or none.")
    started = time.perf_counter()
    evidence: list[pipeline.PhotoEvidence] = []
    slots: list[int | ColorseasonError] = []  # per photo: its place in ``evidence``, or why not
    for data, face in zip(photos, chosen, strict=True):
        try:
            evidence.append(
                pipeline.measure_photo(
                    data,
                    face=face,
                    correct_illumination=correct_illumination,
                    max_bytes=max_bytes,
                    max_pixels=max_pixels,
                )
            )
            slots.append(len(evidence) - 1)
        except ColorseasonError as error:
            slots.append(error)
    if not evidence:
        raise next(slot for slot in slots if isinstance(slot, ColorseasonError))
    together = combine(evidence)
    best = evidence[together.best]
    result = pipeline.diagnosis(
        together.probabilities, together.dimensions, together.measured, best.issues
    )
    family = result["season"]["family"]

    per_photo: list[dict[str, Any]] = []
    for slot in slots:
        if isinstance(slot, ColorseasonError):
            per_photo.append({"ok": False, "error": slot.to_dict()})
            continue
        own = evidence[slot]
        photo = pipeline.diagnosis(
            *pipeline.predict(own.measured, own.light.log_exposure_sd), own.measured, own.issues
        )
        per_photo.append(
            {
                "ok": True,
                "season": photo["season"],
                "families": photo["families"],
                "quality": photo["quality"],
                "reference": own.light.reference,
                "different_person": slot in together.strangers,
            }
        )
    agreeing = [
        photo["season"]["family"] == family
        for photo in per_photo
        if photo["ok"] and not photo["different_person"]
    ]
    skins = [evidence[i].measured.skin for i in together.kept]
    timings: dict[str, float] = {}
    for each in evidence:
        for stage, ms in each.timings.items():
            timings[stage] = round(timings.get(stage, 0.0) + ms, 2)
    timings["total"] = round((time.perf_counter() - started) * 1000, 2)
    return {
        **result,
        **pipeline.photo_facts(best),
        "model": {"version": model.MODEL_VERSION},
        "timings_ms": timings,
        "photos": per_photo,
        "agreement": {
            "photos": len(together.kept),
            "family_share": round(sum(agreeing) / len(agreeing), 3),
            "skin_lightness_spread": round(float(np.ptp([lab[0] for lab in skins])), 1),
            "skin_hue_spread": round(_hue_spread(skins), 1),
        },
    }
