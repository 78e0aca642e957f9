"""The pipeline: bytes → image → landmarks → light → regions → colours → features → season.

Pure and in memory: no file, no network, no global state but the per-process model and the
per-thread MediaPipe graphs. Each stage is timed; the timings travel in the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from colorseason.analysis import decode, features, illumination, landmarks, model, quality, regions
from colorseason.analysis.colorspace import lab_to_hex
from colorseason.analysis.palette import palette_for
from colorseason.analysis.seasons import FAMILIES, SEASONS
from colorseason.errors import FaceHiddenError, FaceTooSmallError

# Below this many face pixels (in the original photo) there is no colour left to measure.
MIN_FACE_PIXELS = 20

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


def analyze(
    data: bytes,
    *,
    correct_illumination: bool = True,
    max_bytes: int = decode.MAX_BYTES,
    max_pixels: int = decode.MAX_PIXELS,
) -> dict[str, Any]:
    """Diagnose the season of the face in ``data`` (JPEG, PNG or WebP bytes).

    Returns the result JSON (see docs/api.md); raises a ``ColorseasonError`` for a photo that
    cannot be analysed. ``correct_illumination=False`` skips the light correction (benchmarks
    use it to show what the correction buys).
    """
    clock = _Stopwatch()
    started = time.perf_counter()
    image = clock.run(
        "decode", decode.decode_image, data, max_bytes=max_bytes, max_pixels=max_pixels
    )
    face = clock.run("landmarks", landmarks.detect, image.bgr)
    if face.width / image.scale < MIN_FACE_PIXELS:
        raise FaceTooSmallError(
            f"The face is only {face.width / image.scale:.0f} px wide; "
            f"at least {MIN_FACE_PIXELS} px are needed. Move closer to the camera."
        )
    pixels = clock.run("regions", regions.sample_regions, image.bgr, face)
    light = clock.run(
        "illumination", illumination.estimate, pixels.background, pixels.sclera, pixels.skin
    )
    gains = light.gains if correct_illumination else np.ones(3)
    measured = clock.run("measure", features.measure, pixels, gains)
    vector = clock.run("features", features.feature_vector, measured)
    if not np.isfinite(vector).all():
        raise FaceHiddenError(
            "The skin, lips or eyes could not be measured. Show the whole face, uncovered "
            "(no mask, hand or hair over it), looking at the camera."
        )
    probabilities, dimensions = clock.run("model", model.predict, vector)
    issues = clock.run(
        "quality", quality.assess, image, face, light, measured, pixels.skin, pixels.face_box
    )

    probabilities = np.asarray(probabilities, np.float64).ravel()
    probabilities /= probabilities.sum()
    ranked = np.argsort(-probabilities)
    season, runner_up = SEASONS[ranked[0]], SEASONS[ranked[1]]
    families = dict.fromkeys(FAMILIES, 0.0)
    for each, probability in zip(SEASONS, probabilities, strict=True):
        families[each.family] += float(probability)
    warmth, depth, clarity, contrast = (float(value) for value in np.ravel(dimensions))
    quality_score = quality.score(issues)
    clock.timings["total"] = round((time.perf_counter() - started) * 1000, 2)
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
            "skin": _colour(measured.skin),
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
        "faces": {"count": face.face_count},
        "illumination": {
            "corrected": correct_illumination,
            "cast_degrees": round(light.cast_degrees, 1),
            "exposure_gain": round(light.exposure_gain, 2),
        },
        "model": {"version": model.MODEL_VERSION},
        "timings_ms": clock.timings,
    }
