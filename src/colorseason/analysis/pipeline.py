"""The pipeline: decode → landmarks → regions → illumination → measure → quality → model.

Bytes become the working image, its face's landmarks, that face's region pixels, the light and
exposure judged from them, the corrected colours, and the photo's quality issues; the model then
turns the colours into season probabilities (averaged over the exposure's uncertainty), and the
quality score discounts their confidence. Pure and in memory: no file, no network, no global state
but the per-process model and the per-thread MediaPipe graphs. Each stage is timed; the timings
travel in the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypedDict, TypeVar, Unpack

import numpy as np

from colorseason.analysis import decode, features, illumination, landmarks, model, quality, regions
from colorseason.analysis.colorspace import lab_to_hex
from colorseason.analysis.formats import MAX_IMAGE_BYTES
from colorseason.analysis.palette import palette_for
from colorseason.analysis.seasons import FAMILIES, SEASONS
from colorseason.errors import FaceHiddenError, FaceTooSmallError

# Below this many face pixels (in the original photo) there is no colour left to measure.
MIN_FACE_PIXELS = 20
# A face narrower than this in the working copy is measured again from the photo at a higher
# resolution, when the photo has one: its eye whites and teeth are then a few pixels more.
DETAIL_FACE_PIXELS = 110

T = TypeVar("T")


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, stage: str, step: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        start = time.perf_counter()
        value = step(*args, **kwargs)
        self.timings[stage] = round((time.perf_counter() - start) * 1000, 2)
        return value


def warm_up() -> None:
    """Load the model and build this thread's graphs, so the first photo is as fast as the rest."""
    model.predict(np.zeros((1, len(features.FEATURE_NAMES)), np.float32))
    landmarks.warm_up()


def _colour(lab: np.ndarray) -> dict[str, Any]:
    return {"lab": [round(float(value), 1) for value in lab], "hex": lab_to_hex(lab)}


# Three-point Gauss-Hermite quadrature over ln(exposure) ~ N(estimate, sd²): the model is asked
# about the face a little darker, as estimated and a little lighter, and its answers are
# averaged, so an unsure exposure spreads the probabilities over the depths it allows.
_QUADRATURE_NODES = np.array([-np.sqrt(3.0), 0.0, np.sqrt(3.0)])
_QUADRATURE_WEIGHTS = np.array([1 / 6, 2 / 3, 1 / 6])


def predict(measured: features.Measurements, log_sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Season probabilities averaged over the exposure's uncertainty; the dimensions at the
    estimate."""
    batch = features.feature_rows(measured, np.exp(_QUADRATURE_NODES * log_sd))
    if not np.isfinite(batch).all():
        raise FaceHiddenError(
            "The skin, lips or eyes could not be measured. Show the whole face, uncovered "
            "(no mask, hand or hair over it), looking at the camera."
        )
    probabilities, dimensions = model.predict(batch)
    averaged = np.asarray(_QUADRATURE_WEIGHTS @ probabilities, np.float64)
    return averaged / averaged.sum(), np.asarray(dimensions[1], np.float64)


def _closer_look(
    data: bytes, image: decode.DecodedImage, found: landmarks.FaceLandmarks
) -> tuple[np.ndarray, landmarks.FaceLandmarks]:
    """The image to measure a face in and its landmarks there: the working copy, or for a small
    face in a larger photo, the photo decoded at the resolution that gives the face about
    ``DETAIL_FACE_PIXELS`` (the landmarks scaled to it)."""
    original_width = found.width / image.scale
    if found.width >= DETAIL_FACE_PIXELS or original_width < found.width * 1.4:
        return image.bgr, found
    factor = 1
    while factor < 8 and original_width / (factor * 2) >= DETAIL_FACE_PIXELS:
        factor *= 2
    bgr = decode.decode_reduced(data, image.format, factor)
    scale = max(bgr.shape[:2]) / max(image.width, image.height)
    if scale < image.scale * 1.4:
        return image.bgr, found
    return bgr, replace(found, points=found.points * np.float32(scale / image.scale))


@dataclass(frozen=True)
class PhotoEvidence:
    """What one photo shows of its face, before the model is asked."""

    found: landmarks.FaceLandmarks
    light: illumination.LightEstimate
    measured: features.Measurements
    issues: list[quality.QualityIssue]
    corrected: bool
    timings: dict[str, float]

    @property
    def quality_score(self) -> float:
        return quality.score(self.issues)


class PhotoOptions(TypedDict, total=False):
    """How one photo is measured: the keyword options of :func:`measure_photo`."""

    face: int | None
    correct_illumination: bool
    max_bytes: int
    max_pixels: int


def measure_photo(
    data: bytes,
    *,
    face: int | None = None,
    correct_illumination: bool = True,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = decode.MAX_PIXELS,
) -> PhotoEvidence:
    """Decode ``data``, find the face, judge the light and measure the colours (see
    :func:`analyze`); raises a ``ColorseasonError`` for a photo that cannot be measured."""
    clock = _Stopwatch()
    image = clock.run(
        "decode", decode.decode_image, data, max_bytes=max_bytes, max_pixels=max_pixels
    )
    found = clock.run("landmarks", landmarks.detect, image.bgr, face)
    if found.width / image.scale < MIN_FACE_PIXELS:
        raise FaceTooSmallError(
            f"The face is only {found.width / image.scale:.0f} px wide; "
            f"at least {MIN_FACE_PIXELS} px are needed. Move closer to the camera."
        )
    detail_bgr, detail = clock.run("detail", _closer_look, data, image, found)
    pixels = clock.run("regions", regions.sample_regions, detail_bgr, detail)
    light = (
        clock.run("illumination", illumination.estimate, pixels, detail.points)
        if correct_illumination
        else illumination.UNCORRECTED
    )
    measured = clock.run("measure", features.measure, pixels, light.gains, light.log_exposure_sd)
    issues = clock.run(
        "quality",
        quality.assess,
        image,
        found,
        light,
        measured,
        pixels.skin,
        detail_bgr,
        pixels.face_box,
    )
    return PhotoEvidence(found, light, measured, issues, correct_illumination, clock.timings)


def diagnosis(
    probabilities: np.ndarray,
    dimensions: np.ndarray,
    measured: features.Measurements,
    issues: list[quality.QualityIssue],
) -> dict[str, Any]:
    """The diagnosis part of a result: season, families, dimensions, colours, palette, quality
    and confidence."""
    families = dict.fromkeys(FAMILIES, 0.0)
    for each, probability in zip(SEASONS, probabilities, strict=True):
        families[each.family] += float(probability)
    # The family first, by its total probability (what ``confidence`` reports), then its most
    # probable season: the top season alone can belong to a family that is less likely in all.
    family = max(families, key=families.__getitem__)
    ranked = [SEASONS[i] for i in np.argsort(-probabilities, kind="stable")]
    season = next(each for each in ranked if each.family == family)
    runner_up = next(each for each in ranked if each is not season)
    warmth, depth, clarity, contrast = (float(value) for value in dimensions)
    quality_score = quality.score(issues)
    return {
        "season": season.to_dict(),
        "second_season": runner_up.to_dict(),
        "probabilities": {
            each.id: round(float(p), 4) for each, p in zip(SEASONS, probabilities, strict=True)
        },
        "families": {family: round(value, 4) for family, value in families.items()},
        "undertone": model.undertone(warmth),
        "dimensions": {
            "warmth": round(warmth, 3),
            "depth": round(depth, 3),
            "clarity": round(clarity, 3),
            "contrast": round(contrast, 3),
        },
        "measurements": {
            "skin": {**_colour(measured.skin), "lightness_sd": round(measured.lightness_sd, 1)},
            "eyes": _colour(measured.eyes),
            "hair": _colour(measured.hair),
            "lips": _colour(measured.lips),
        },
        "palette": palette_for(season.id),
        "quality": {
            "score": round(quality_score, 3),
            "issues": [{"code": issue.code, "message": issue.message} for issue in issues],
        },
        # How sure we are of the family, discounted by what the photo lets us see.
        "confidence": round(families[season.family] * quality_score, 3),
    }


def photo_facts(evidence: PhotoEvidence) -> dict[str, Any]:
    """Which face of the photo was analysed and what set its light."""
    found, light = evidence.found, evidence.light
    return {
        "faces": {
            "count": found.face_count,
            "analysed": found.index,
            "boxes": [[round(value, 4) for value in box] for box in found.boxes],
        },
        "illumination": {
            "corrected": evidence.corrected,
            "reference": light.reference,
            "exposure_anchors": list(light.anchors),
            "cast_degrees": round(light.cast_degrees, 1),
            "exposure_gain": round(light.exposure_gain, 2),
        },
    }


def analyze(data: bytes, **options: Unpack[PhotoOptions]) -> dict[str, Any]:
    """Diagnose the season of the face in ``data`` (JPEG, PNG or WebP bytes).

    Returns the result JSON (see docs/api.md); raises a ``ColorseasonError`` for a photo that
    cannot be analysed. ``face`` picks a face by its number (left to right from 0, as in the
    result's ``faces.boxes``); by default the largest is analysed. ``correct_illumination=False``
    takes the photo's colours as they are (benchmarks use it to show what the correction buys).
    The options and their defaults are :func:`measure_photo`'s.
    """
    started = time.perf_counter()
    evidence = measure_photo(data, **options)
    clock = _Stopwatch()
    clock.timings = dict(evidence.timings)
    probabilities, dimensions = clock.run(
        "model", predict, evidence.measured, evidence.light.log_exposure_sd
    )
    result = diagnosis(probabilities, dimensions, evidence.measured, evidence.issues)
    clock.timings["total"] = round((time.perf_counter() - started) * 1000, 2)
    return {
        **result,
        **photo_facts(evidence),
        "model": {"version": model.MODEL_VERSION},
        "timings_ms": clock.timings,
    }
