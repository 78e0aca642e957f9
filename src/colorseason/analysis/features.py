"""Features: the seasonal evidence, as one fixed-order vector for the model.

The order of ``FEATURE_NAMES`` is the model's input contract (``features`` input, float32
``[N, len(FEATURE_NAMES)]``); changing it needs a new model version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colorseason.analysis.colorspace import (
    LUMINANCE,
    bgr8_to_linear_rgb,
    chroma_hue,
    lab_to_linear_rgb,
    linear_rgb_to_lab,
)
from colorseason.analysis.regions import RegionPixels

FEATURE_NAMES: tuple[str, ...] = (
    "skin_L",  # CIELAB L* of skin (cheeks + forehead), after illumination correction
    "skin_hue",  # h_ab in degrees, atan2(b*, a*): the undertone; unchanged by exposure
    "skin_saturation",  # C*ab / (L* + 16): clear vs muted; unchanged by exposure
    "skin_ita",  # ITA° = atan((L* - 50) / b*) * 180 / pi: the skin-tone class
    "hair_L",  # L* of the hair band (or brows when no hair is visible)
    "hair_saturation",  # C*ab / (L* + 16) of hair: golden and red hair are warm
    "eye_L",  # L* of the iris
    "eye_saturation",  # C*ab / (L* + 16) of the iris
    "lip_hue",  # h_ab of the lips in degrees
    "lip_saturation",  # C*ab / (L* + 16) of the lips
    "contrast_skin_hair",  # ln(Y skin / Y hair), linear luminance: unchanged by exposure
    "contrast_skin_eye",  # ln(Y skin / Y iris)
)
GAIN_INVARIANT_FEATURES = frozenset(
    {
        "skin_hue",
        "skin_saturation",
        "hair_saturation",
        "eye_saturation",
        "lip_hue",
        "lip_saturation",
        "contrast_skin_hair",
        "contrast_skin_eye",
    }
)
"""Features a change of exposure leaves alone (exactly while L* stays above 8, where CIELAB is a
cube root: a gain k scales L* + 16, a* and b* all by k^(1/3))."""


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
    lightness_sd: float  # how unsure skin L* is, from the exposure's uncertainty


# CIELAB distance from the skin colour beyond which a band pixel is not skin.
_HAIR_SKIN_DISTANCE = 12.0


def _lab(bgr_pixels: np.ndarray, gains: np.ndarray) -> np.ndarray:
    return linear_rgb_to_lab(bgr8_to_linear_rgb(bgr_pixels) * gains)


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


def measure(regions: RegionPixels, gains: np.ndarray, log_exposure_sd: float) -> Measurements:
    """Measure skin, eyes, hair and lips in CIELAB with ``gains`` applied in linear RGB;
    ``log_exposure_sd`` (the sd of ln exposure) sets how unsure skin lightness is."""
    skin = linear_rgb_to_lab(regions.skin_colour * gains)
    left = _trimmed_median(_lab(regions.left_cheek, gains), 15, 90)
    right = _trimmed_median(_lab(regions.right_cheek, gains), 15, 90)
    # Iris: lashes and lid shadows at the bottom, catch-lights at the top.
    eyes = _trimmed_median(_lab(regions.iris, gains), 20, 85)
    lips = _trimmed_median(_lab(regions.lips, gains), 15, 90)
    hair, from_brows = _hair(_lab(regions.hair_band, gains), _lab(regions.brows, gains), skin)
    if np.isnan(eyes).any():
        eyes = hair
    raw_skin = linear_rgb_to_lab(bgr8_to_linear_rgb(regions.skin))[:, 0]
    darker, lighter = (
        _at_exposure(skin, float(np.exp(sign * log_exposure_sd)))[0] for sign in (-1, 1)
    )
    return Measurements(
        skin=skin,
        eyes=eyes,
        hair=hair,
        lips=lips,
        hair_from_brows=from_brows,
        cheek_lightness_gap=float(abs(left[0] - right[0])),
        raw_skin_lightness=float(np.median(raw_skin)),
        lightness_sd=float(lighter - darker) / 2,
    )


def _saturation(lab: np.ndarray) -> float:
    chroma, _ = chroma_hue(lab)
    return chroma / max(float(lab[0]) + 16, 1e-6)


def _at_exposure(lab: np.ndarray, factor: float) -> np.ndarray:
    return linear_rgb_to_lab(lab_to_linear_rgb(lab) * factor)


def feature_vector(m: Measurements, exposure: float = 1.0) -> np.ndarray:
    """The model input: one float32 row in ``FEATURE_NAMES`` order, for the photo as measured or
    as if its exposure were ``exposure`` times the estimate (for weighing an unsure exposure)."""
    skin, hair, eyes, lips = (
        _at_exposure(lab, exposure) for lab in (m.skin, m.hair, m.eyes, m.lips)
    )
    _, skin_hue = chroma_hue(skin)
    _, lip_hue = chroma_hue(lips)
    skin_y, hair_y, eye_y = (
        max(float(lab_to_linear_rgb(lab) @ LUMINANCE), 1e-6) for lab in (skin, hair, eyes)
    )
    values = {
        "skin_L": skin[0],
        "skin_hue": skin_hue,
        "skin_saturation": _saturation(skin),
        "skin_ita": float(np.degrees(np.arctan2(skin[0] - 50, skin[2]))),
        "hair_L": hair[0],
        "hair_saturation": _saturation(hair),
        "eye_L": eyes[0],
        "eye_saturation": _saturation(eyes),
        "lip_hue": lip_hue,
        "lip_saturation": _saturation(lips),
        "contrast_skin_hair": np.log(skin_y / hair_y),
        "contrast_skin_eye": np.log(skin_y / eye_y),
    }
    return np.array([[values[name] for name in FEATURE_NAMES]], np.float32)
