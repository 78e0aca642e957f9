"""Illumination: estimate the light from pixels that are not skin, and undo it (von Kries).

Correcting with the face's own pixels would erase the very undertone being measured, so the
estimate uses the background around the head (minus anything skin-coloured, such as the neck or
hands); the whites of the eyes stand in only when no background shows, because in practice they
mix with lids, lashes and glasses. The estimator is shades-of-gray with p = 6 (Finlayson & Trezzi
2004; median angular error 4.0° on Gehler-Shi, against 6.3° for gray-world), refined on the pixels
nearest to grey. It is applied in linear RGB, where a change of light is a per-channel gain, so
the correction is a per-channel division; exposure is normalised from the same pixels' mean
luminance, so an under- or over-exposed photo measures like a well-exposed one.

Shades-of-gray is exact for a global cast: scaling every pixel's channel c by g_c scales the
estimate by g_c, so a cast photo corrects to the same colours as the uncast one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colorseason.analysis.colorspace import SRGB8_TO_LINEAR

MINKOWSKI_P = 6
# Background pixels whose chromaticity is this close (in log-chromaticity units) to the skin's are
# treated as skin (neck, ears, hands) and left out of the estimate.
_SKIN_CHROMA_TOLERANCE = 0.12
_MIN_EVIDENCE_PIXELS = 200
# The surroundings are metered like a camera meters a scene (mean reflectance ~18 % grey): their
# mean luminance is mapped to this level, within bounds that keep a dark or white backdrop from
# pushing the face out of range.
_TARGET_LUMINANCE = 0.18
_EXPOSURE_GAIN_LIMITS = (0.4, 2.5)
_MIN_SCLERA_PIXELS = 12
_REFINEMENT_STEPS = 2
_GREY_QUANTILE = 0.3
_LUMINANCE = np.array([0.2126729, 0.7151522, 0.0721750])


@dataclass(frozen=True)
class LightEstimate:
    """The estimated light (linear RGB) and the gains that turn it into neutral grey."""

    illuminant: np.ndarray  # linear RGB, unit luminance
    gains: np.ndarray  # per-channel linear-RGB multipliers (chromatic and exposure)
    cast_degrees: float  # angle between the illuminant and neutral grey: how strong the cast was
    exposure_gain: float  # the exposure part of ``gains``
    evidence_pixels: int


def linear_rgb(bgr_pixels: np.ndarray) -> np.ndarray:
    """8-bit BGR pixels (N x 3) to float32 linear RGB."""
    return SRGB8_TO_LINEAR[bgr_pixels[:, ::-1]]


def _log_chroma(rgb: np.ndarray) -> np.ndarray:
    """log(R/G), log(B/G): a cast adds a constant to both, whatever the pixel."""
    log = np.log(np.maximum(rgb, 1e-4))
    return log[:, [0, 2]] - log[:, [1]]


def _minkowski_mean(rgb: np.ndarray) -> np.ndarray:
    cubed = rgb * rgb * rgb  # x**6 as (x**3)**2: float32 powers are slow
    return np.mean(cubed * cubed, axis=0, dtype=np.float64) ** (1 / MINKOWSKI_P)


def _grey_pixel_estimate(rgb: np.ndarray) -> np.ndarray:
    """Shades-of-gray, refined on the pixels that the previous estimate makes near-grey.

    A brightly coloured backdrop (a flag, a blue curtain) pulls plain shades-of-gray towards its
    own colour; re-estimating from the pixels closest to neutral after a first correction keeps
    walls, clothes and eye whites and drops the coloured objects. Each step is scale-equivariant,
    so a global cast still corrects exactly.
    """
    illuminant = _minkowski_mean(rgb)
    chroma = _log_chroma(rgb)
    keep = max(_MIN_EVIDENCE_PIXELS, int(len(rgb) * _GREY_QUANTILE))
    for _ in range(_REFINEMENT_STEPS):
        # log-chromaticity after dividing by the illuminant = before, minus the illuminant's
        distance = np.abs(chroma - _log_chroma(illuminant[None])).max(axis=1)
        near_grey = rgb[np.argpartition(distance, min(keep, len(rgb) - 1))[:keep]]
        if len(near_grey) < _MIN_EVIDENCE_PIXELS:
            break
        illuminant = _minkowski_mean(near_grey)
    return illuminant


def estimate(background: np.ndarray, sclera: np.ndarray, skin: np.ndarray) -> LightEstimate:
    """Estimate the light from 8-bit BGR pixels of the background, the sclera and the skin."""
    evidence = background[(background.max(axis=1) < 250) & (background.max(axis=1) > 8)]
    evidence_rgb = linear_rgb(evidence)
    if len(skin) and len(evidence_rgb):
        skin_chroma = np.median(_log_chroma(linear_rgb(skin)), axis=0)
        distance = np.abs(_log_chroma(evidence_rgb) - skin_chroma).max(axis=1)
        evidence_rgb = evidence_rgb[distance > _SKIN_CHROMA_TOLERANCE]

    exposure_gain = 1.0
    if len(evidence_rgb) >= _MIN_EVIDENCE_PIXELS:
        illuminant = _grey_pixel_estimate(evidence_rgb)
        level = max(float(np.mean(evidence_rgb @ _LUMINANCE)), 1e-6)
        exposure_gain = float(np.clip(_TARGET_LUMINANCE / level, *_EXPOSURE_GAIN_LIMITS))
        evidence_count = len(evidence_rgb)
    else:
        # No usable backdrop: fall back on the eye whites. They are lit like the face, but few and
        # easily mixed with lids and lashes, so they only stand in for a missing background.
        sclera_rgb = linear_rgb(sclera[sclera.max(axis=1) < 250]) if len(sclera) else sclera
        if len(sclera_rgb) < _MIN_SCLERA_PIXELS:
            neutral = np.ones(3)
            return LightEstimate(neutral, neutral, 0.0, 1.0, 0)
        luminance = sclera_rgb @ _LUMINANCE
        illuminant = np.median(sclera_rgb[luminance >= np.median(luminance)], axis=0)
        evidence_count = len(sclera_rgb)

    illuminant = illuminant / max(float(illuminant @ _LUMINANCE), 1e-6)
    cos = float(illuminant.sum() / (np.linalg.norm(illuminant) * np.sqrt(3)))
    return LightEstimate(
        illuminant=illuminant,
        gains=exposure_gain / illuminant,
        cast_degrees=float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))),
        exposure_gain=exposure_gain,
        evidence_pixels=evidence_count,
    )
