"""Features: the seasonal evidence, as one fixed-order vector for the model.

The order of ``FEATURE_NAMES`` is the model's input contract (``features`` input, float32
``[N, len(FEATURE_NAMES)]``); changing it needs a new model version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colorseason.analysis.colorspace import chroma_hue, linear_rgb_to_lab
from colorseason.analysis.illumination import linear_rgb
from colorseason.analysis.regions import RegionPixels

FEATURE_NAMES: tuple[str, ...] = (
    "skin_L",  # CIELAB L* of skin (cheeks + forehead), after illumination correction
    "skin_a",  # a*
    "skin_b",  # b*
    "skin_chroma",  # C*ab = hypot(a*, b*)
    "skin_hue",  # h_ab in degrees, atan2(b*, a*)
    "skin_ita",  # ITA° = atan((L* - 50) / b*) * 180 / pi
    "hair_L",  # L* of the hair band (or brows when no hair is visible)
    "hair_chroma",  # C*ab of hair
    "eye_L",  # L* of the iris
    "eye_chroma",  # C*ab of the iris
    "lip_hue",  # h_ab of the lips in degrees
    "lip_chroma",  # C*ab of the lips
    "contrast_skin_hair",  # skin L* - hair L*
    "contrast_skin_eye",  # skin L* - iris L*
)


@dataclass(frozen=True)
class Measurements:
    """Robust CIELAB colours of the face, after illumination correction."""

    skin: np.ndarray
    eyes: np.ndarray
    hair: np.ndarray
    lips: np.ndarray
    hair_from_brows: bool  # no hair was visible above the forehead; brows stood in for it
    cheek_lightness_gap: float  # |L*(left cheek) - L*(right cheek)|: uneven light
    raw_skin_lightness: float  # skin L* before correction: exposure of the photo as taken


# CIELAB distance from the skin colour beyond which a band pixel is not skin.
_HAIR_SKIN_DISTANCE = 12.0


def _lab(bgr_pixels: np.ndarray, gains: np.ndarray) -> np.ndarray:
    return linear_rgb_to_lab(linear_rgb(bgr_pixels) * gains)


def _trimmed_median(lab: np.ndarray, low: float, high: float) -> np.ndarray:
    """Median colour of the pixels whose L* lies between the ``low`` and ``high`` percentiles.

    Drops shadows and pores at the bottom and specular highlights at the top.
    """
    if len(lab) == 0:
        return np.full(3, np.nan)
    lightness = lab[:, 0]
    lo, hi = np.percentile(lightness, [low, high])
    kept = lab[(lightness >= lo) & (lightness <= hi)]
    return np.median(kept if len(kept) else lab, axis=0)


def _hair(band: np.ndarray, brows: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, bool]:
    """Hair colour from the band above the forehead; brows when the band shows no hair.

    Band pixels count as hair when they are clearly not skin (forehead showing through a fringe).
    """
    if len(band):
        hair = band[np.linalg.norm(band - skin, axis=1) > _HAIR_SKIN_DISTANCE]
        if len(hair) >= max(20, 0.3 * len(band)):
            return _trimmed_median(hair, 10, 80), False
    # Brow outlines include skin between the hairs: the darker part is the brow itself.
    return _trimmed_median(brows, 0, 40), True


def measure(regions: RegionPixels, gains: np.ndarray) -> Measurements:
    """Measure skin, eyes, hair and lips in CIELAB with ``gains`` applied in linear RGB."""
    # Clipped pixels have lost their hue: leave them out of the skin.
    unclipped = regions.skin[regions.skin.max(axis=1) < 250]
    skin = _trimmed_median(_lab(unclipped if len(unclipped) > 50 else regions.skin, gains), 15, 90)
    left = _trimmed_median(_lab(regions.left_cheek, gains), 15, 90)
    right = _trimmed_median(_lab(regions.right_cheek, gains), 15, 90)
    # Iris: lashes and lid shadows at the bottom, catch-lights at the top.
    eyes = _trimmed_median(_lab(regions.iris, gains), 20, 85)
    lips = _trimmed_median(_lab(regions.lips, gains), 15, 90)
    hair, from_brows = _hair(_lab(regions.hair_band, gains), _lab(regions.brows, gains), skin)
    if np.isnan(eyes).any():
        eyes = hair
    raw_skin = linear_rgb_to_lab(linear_rgb(regions.skin))[:, 0]
    return Measurements(
        skin=skin,
        eyes=eyes,
        hair=hair,
        lips=lips,
        hair_from_brows=from_brows,
        cheek_lightness_gap=float(abs(left[0] - right[0])),
        raw_skin_lightness=float(np.median(raw_skin)),
    )


def feature_vector(m: Measurements) -> np.ndarray:
    """The model input: one float32 row in ``FEATURE_NAMES`` order."""
    skin_chroma, skin_hue = chroma_hue(m.skin)
    hair_chroma, _ = chroma_hue(m.hair)
    eye_chroma, _ = chroma_hue(m.eyes)
    lip_chroma, lip_hue = chroma_hue(m.lips)
    ita = float(np.degrees(np.arctan2(m.skin[0] - 50, m.skin[2])))
    values = {
        "skin_L": m.skin[0],
        "skin_a": m.skin[1],
        "skin_b": m.skin[2],
        "skin_chroma": skin_chroma,
        "skin_hue": skin_hue,
        "skin_ita": ita,
        "hair_L": m.hair[0],
        "hair_chroma": hair_chroma,
        "eye_L": m.eyes[0],
        "eye_chroma": eye_chroma,
        "lip_hue": lip_hue,
        "lip_chroma": lip_chroma,
        "contrast_skin_hair": m.skin[0] - m.hair[0],
        "contrast_skin_eye": m.skin[0] - m.eyes[0],
    }
    return np.array([[values[name] for name in FEATURE_NAMES]], np.float32)
