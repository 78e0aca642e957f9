"""Quality: what about this photo makes the diagnosis less trustworthy, and what to do about it.

Each issue has a stable ``code`` (API), an English ``message`` with actionable advice, and a
penalty; the quality score is the product of (1 - penalty) over the issues, and the diagnosis'
confidence is multiplied by it. Thresholds were set on the package test photos and their degraded
variants (tests/test_pipeline.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from colorseason.analysis.decode import DecodedImage
from colorseason.analysis.features import Measurements
from colorseason.analysis.illumination import LightEstimate
from colorseason.analysis.landmarks import FaceLandmarks
from colorseason.analysis.references import eye_openness

# Face width in the original photo's pixels below which colours come from few pixels, and below
# which they come from very few (the penalty doubles and more).
SMALL_FACE_PIXELS = 80
TINY_FACE_PIXELS = 40
# Variance of the Laplacian of the face, resampled to 128 px wide, below which it is blurred.
BLUR_VARIANCE = 60.0
CAST_DEGREES = 6.0
UNEVEN_LIGHT_DELTA_L = 8.0
EYES_CLOSED_RATIO = 0.14
UNDEREXPOSED_L = 35.0
OVEREXPOSED_L = 85.0
CLIPPED_FRACTION = 0.05


@dataclass(frozen=True)
class QualityIssue:
    code: str
    message: str
    penalty: float


ISSUES: dict[str, QualityIssue] = {
    issue.code: issue
    for issue in (
        QualityIssue(
            "grayscale_photo",
            "The photo has no colour. Send a colour photo: black-and-white shows no undertone.",
            0.8,
        ),
        QualityIssue(
            "face_too_small",
            "The face is small in the photo. Move closer so the face fills a third of the frame.",
            0.2,
        ),
        QualityIssue(
            "blurry",
            "The face is blurred. Hold the camera still and tap to focus on the face.",
            0.15,
        ),
        QualityIssue(
            "underexposed",
            "The photo is dark. Face a window in daylight or turn on more light.",
            0.25,
        ),
        QualityIssue(
            "overexposed",
            "The face is washed out. Avoid direct sun and the flash; use soft daylight.",
            0.3,
        ),
        QualityIssue(
            "uneven_light",
            "One side of the face is darker. Face the light source so both cheeks are lit evenly.",
            0.15,
        ),
        QualityIssue(
            "colour_cast",
            "The light is strongly coloured (we corrected it). For the best result use daylight "
            "near a window, away from coloured lamps.",
            0.1,
        ),
        QualityIssue(
            "no_light_reference",
            "Too little background or eye white was visible to check the light, so no correction "
            "was made. Include some plain background around the head.",
            0.2,
        ),
        QualityIssue(
            "eyes_closed",
            "The eyes look closed, so eye colour could not be measured. Keep the eyes open.",
            0.15,
        ),
        QualityIssue(
            "hair_not_visible",
            "No hair was visible above the forehead; eyebrows were used for hair colour. "
            "Show the hairline, without a hat.",
            0.1,
        ),
        QualityIssue(
            "multiple_faces",
            "Several faces are in the photo; one was analysed: the largest, unless you chose "
            "another by its number. Choose the face you mean, or send a photo of one person.",
            0.05,
        ),
    )
}


def _sharpness(bgr: np.ndarray, face_box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = face_box
    face = cv2.cvtColor(bgr[max(0, y0) : y1, max(0, x0) : x1], cv2.COLOR_BGR2GRAY)
    if face.size == 0:
        return 0.0
    width = 128
    height = max(1, round(face.shape[0] * width / max(face.shape[1], 1)))
    face = cv2.resize(face, (width, height), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(face, cv2.CV_64F).var())


def assess(
    image: DecodedImage,
    face: FaceLandmarks,
    light: LightEstimate,
    measurements: Measurements,
    skin_pixels: np.ndarray,
    measured_bgr: np.ndarray,
    face_box: tuple[int, int, int, int],
) -> list[QualityIssue]:
    """The quality issues of this photo, most serious first. ``measured_bgr`` is the image the
    regions were measured in and ``face_box`` the face's box there."""
    found: list[str] = []
    face_pixels = face.width / image.scale
    if image.grayscale:
        found.append("grayscale_photo")
    if face_pixels < SMALL_FACE_PIXELS:
        found.append("face_too_small")
    if _sharpness(measured_bgr, face_box) < BLUR_VARIANCE:
        found.append("blurry")
    clipped = float(np.mean(skin_pixels.max(axis=1) >= 250)) if len(skin_pixels) else 0.0
    if measurements.raw_skin_lightness < UNDEREXPOSED_L:
        found.append("underexposed")
    elif measurements.raw_skin_lightness > OVEREXPOSED_L or clipped > CLIPPED_FRACTION:
        found.append("overexposed")
    if measurements.cheek_lightness_gap > UNEVEN_LIGHT_DELTA_L:
        found.append("uneven_light")
    if light.reference == "none":
        found.append("no_light_reference")
    elif light.cast_degrees > CAST_DEGREES:
        found.append("colour_cast")
    if eye_openness(face.points) < EYES_CLOSED_RATIO:
        found.append("eyes_closed")
    if measurements.hair_from_brows:
        found.append("hair_not_visible")
    if face.face_count > 1:
        found.append("multiple_faces")
    issues = [ISSUES[code] for code in found]
    if face_pixels < TINY_FACE_PIXELS:
        issues = [replace(i, penalty=0.5) if i.code == "face_too_small" else i for i in issues]
    return sorted(issues, key=lambda issue: -issue.penalty)


def score(issues: list[QualityIssue]) -> float:
    """Quality in [0, 1]: 1 for a photo with no issue."""
    return float(np.prod([1 - issue.penalty for issue in issues])) if issues else 1.0
