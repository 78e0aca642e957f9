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
    lab_to_linear_rgb,
    linear_rgb_to_lab,
    reexposed,
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
# Hair is never near paper white: blond is L* 40-60 (Vaughn et al., Am J Phys Anthropol 2008),
# grey and white hair a fibre's shaded grey. A band lighter than this is a hat's brim, a scarf or
# the backdrop showing through, and says nothing of the hair. The correction's exposure is itself
# unsure, so the band must pass both as corrected and as photographed.
HAIR_MAX_LIGHTNESS = 85.0


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


def _hair(
    band: np.ndarray, brows: np.ndarray, skin: np.ndarray, gains: np.ndarray
) -> tuple[np.ndarray, bool]:
    """Hair colour from the band above the forehead; brows when the band shows no hair.

    Band pixels count as hair when they are clearly not skin (forehead showing through a fringe),
    and the band only when it is no lighter than hair can be (a white hat's brim is lighter).
    ``gains`` are the correction applied to ``band``, undone to judge it as photographed too.
    """
    if len(band):
        hair = band[np.linalg.norm(band - skin, axis=1) > _HAIR_SKIN_DISTANCE]
        if len(hair) >= max(20, 0.3 * len(band)):
            colour = _trimmed_median(hair, 10, 80)
            as_taken = linear_rgb_to_lab(lab_to_linear_rgb(colour) / gains)
            if max(colour[0], as_taken[0]) <= HAIR_MAX_LIGHTNESS:
                return colour, False
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
    hair, from_brows = _hair(
        _lab(regions.hair_band, gains), _lab(regions.brows, gains), skin, gains
    )
    if np.isnan(eyes).any():
        eyes = hair
    raw_skin = linear_rgb_to_lab(bgr8_to_linear_rgb(regions.skin))[:, 0]
    return Measurements(
        skin=skin,
        eyes=eyes,
        hair=hair,
        lips=lips,
        hair_from_brows=from_brows,
        cheek_lightness_gap=float(abs(left[0] - right[0])),
        raw_skin_lightness=float(np.median(raw_skin)),
        lightness_sd=skin_lightness_sd(skin, log_exposure_sd),
    )


def skin_lightness_sd(skin: np.ndarray, log_exposure_sd: float) -> float:
    """How unsure the L* of the CIELAB ``skin`` is, given the sd of ln(exposure): half the span
    between the skin one sd darker and one sd lighter."""
    darker, lighter = (reexposed(skin, sign * log_exposure_sd)[0] for sign in (-1, 1))
    return float(lighter - darker) / 2


def feature_vector(m: Measurements, exposure: float = 1.0) -> np.ndarray:
    """The model input: one float32 row in ``FEATURE_NAMES`` order, for the photo as measured or
    as if its exposure were ``exposure`` times the estimate (for weighing an unsure exposure)."""
    return feature_rows(m, np.array([exposure]))


def feature_rows(m: Measurements, exposures: np.ndarray) -> np.ndarray:
    """One feature row (float32, ``FEATURE_NAMES`` order) per exposure factor in ``exposures``:
    the face as if the photo's exposure were that many times the estimate."""
    colours = np.stack([m.skin, m.hair, m.eyes, m.lips])  # skin, hair, eyes, lips
    linear = lab_to_linear_rgb(colours)[None] * np.asarray(exposures, float)[:, None, None]
    lab = linear_rgb_to_lab(linear)  # exposures x 4 x 3
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    saturation = np.hypot(a, b) / np.maximum(lightness + 16, 1e-6)
    hue = np.degrees(np.arctan2(b, a)) % 360.0
    luminance = np.maximum(linear @ LUMINANCE, 1e-6)
    skin, hair, eyes, lips = 0, 1, 2, 3
    values = {
        "skin_L": lightness[:, skin],
        "skin_hue": hue[:, skin],
        "skin_saturation": saturation[:, skin],
        "skin_ita": np.degrees(np.arctan2(lightness[:, skin] - 50, b[:, skin])),
        "hair_L": lightness[:, hair],
        "hair_saturation": saturation[:, hair],
        "eye_L": lightness[:, eyes],
        "eye_saturation": saturation[:, eyes],
        "lip_hue": hue[:, lips],
        "lip_saturation": saturation[:, lips],
        "contrast_skin_hair": np.log(luminance[:, skin] / luminance[:, hair]),
        "contrast_skin_eye": np.log(luminance[:, skin] / luminance[:, eyes]),
    }
    return np.stack([values[name] for name in FEATURE_NAMES], axis=1).astype(np.float32)
