"""Illumination: the light's colour and the photo's exposure, from evidence that survives both.

**White balance.** Camera JPEGs are already white-balanced; the job is the residual cast. It is
measured on grey pixels of the head's surroundings, never on the skin (correcting with the face's
own pixels erases the undertone being measured). Grey pixels are found in the spirit of the
Grayness Index (Qian et al., CVPR 2019: median angular error 1.87° on Gehler-Shi, against 4.0°
for shades-of-gray): where the shading of a surface changes but its chromaticity does not. A
camera's tone curve bends a coloured surface's chromaticity as its shading changes but leaves a
grey one grey, so the pixels whose log-chromaticity moves least per unit of shading are the grey
ones. It is computed on ln(R/G) and ln(B/G), which a cast shifts by a constant: the same pixels
are chosen under any cast. The hair, a beard and skin-coloured pixels (neck, hands) are left out.
Three guesses of the light are then weighed by their precision: the grey pixels, the eye whites
(less their own slightly red colour) and the camera's white balance itself (no cast). Where the
grey pixels and the eyes disagree beyond both their noise (a coloured backdrop, a graded film
still), the grey pixels are dropped. A correction that would take the skin out of the skin
locus is shortened until it does not, and none goes beyond a daylight camera under a warm
tungsten lamp. A white card, when one is held up, overrules all of this.

**Exposure.** The backdrop is never metered: phones already expose for the face, and a bright
backdrop would darken the person. Depth comes from references of known reflectance
(``references``): a white card when one is held up, else the eye whites, the teeth as a weak
anchor, and the photo as the camera exposed it. Each is a guess of ln(exposure) with an
uncertainty (burnt-out whites only a ceiling on it); they are combined by their precision, and
what remains uncertain is reported (``log_exposure_sd``) and widens the season probabilities
instead of being guessed away. One more guess is always there: human skin itself, whose
lightness across populations spreads about 10 L* round the reference face's. It is a prior, not
a measurement: it says how far a skin may plausibly lie from the usual one, so it pulls an
implausibly light or dark reading part of the way back (a darker skin still reads darker), and
the references, where there are any, weigh against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from colorseason.analysis import references
from colorseason.analysis.colorspace import (
    CLIPPED,
    LUMINANCE,
    chroma_hue,
    linear_rgb_to_lab,
    log_chroma,
)
from colorseason.analysis.regions import RegionPixels, Surround

# How far a camera's own exposure of a face strays from a well-exposed one (ln units; about
# half a stop): the spread of skin lightness across photos of one person in the development set
# when nothing else sets the exposure.
CAMERA_LOG_SD = 0.4
# The skin as a guess of the exposure: a well-exposed photo shows skin near the reference face's
# L* 64.5 (the season model's centre, docs/model-card.md), give or take the between-person
# spread across populations, about 10 L*. It is a prior about the person, so several photos of
# one person count it once (``person``).
SKIN_LIGHTNESS = 64.5
SKIN_LIGHTNESS_SD = 10.0
# The largest exposure change the references may make (ln units: two stops either way). A
# reference that asks for more is more likely misread than the camera that far off.
EXPOSURE_LIMIT = float(np.log(4.0))
# A white card is believed up to four stops: a photo that dark or bright still shows it.
CARD_EXPOSURE_LIMIT = float(np.log(16.0))
# The skin locus, in the photo domain: hue angles h_ab (CIELAB, degrees) that skin of any tone
# takes in camera photos (the development set's skins lie at 20-75°), and the least saturation
# C*/(L* + 16): skin is never grey.
SKIN_HUE_LOCUS = (15.0, 80.0)
SKIN_MIN_SATURATION = 0.08
# The strongest residual cast corrected: a camera set to daylight under a 2700 K lamp leaves
# about ln(R/G) = 0.4 and ln(B/G) = -0.8; anything further is a coloured scene, not a light.
CAST_LIMIT = 0.9
# Grey pixels: the share of usable surrounding pixels with the smallest chromaticity gradient,
# at least this many of them, and the least contrast a pixel needs (ln luminance per pixel).
_GREY_SHARE = 0.1
_MIN_GREY_PIXELS = 40
_MIN_CONTRAST = 0.02
# Surrounding pixels this close to the skin's chromaticity (ln units) are skin: neck, ears, hands.
_SKIN_CHROMA_TOLERANCE = 0.12
# The camera's own white balance as a prior: residual casts of camera JPEGs are mostly within
# this (ln units), though a warm lamp can leave far more.
CAMERA_CHROMA_SD = 0.3
# How sure the grey pixels are of the light (ln units), with this many of them or more; fewer
# are less sure, as the square root of their number.
_GREY_CHROMA_SD = 0.08
_GREY_FULL_PIXELS = 400


class Exposure(NamedTuple):
    """ln(exposure) as the evidence has it."""

    log_gain: float
    log_sd: float
    used: list[str]  # the references that counted
    readings: list[tuple[str, float]]  # the skin's and each measured reference's ln(exposure)
    own: tuple[float, float]  # ln(exposure) and its sd from the photo alone, before the skin prior


@dataclass(frozen=True)
class LightEstimate:
    """The estimated light and exposure, and the gains that undo them."""

    illuminant: np.ndarray  # linear RGB of the light, unit luminance ((1, 1, 1): neutral)
    exposure_gain: float  # brings the photo to a good exposure
    log_exposure_sd: float  # uncertainty of ln(exposure_gain)
    reference: str  # what set the light: "white_card" | "eyes" | "scene" | "none"
    anchors: tuple[str, ...]  # what set the exposure besides the camera: white_card, eyes, teeth
    # What the skin and each measured reference the exposure rests on asked for: (name, ln
    # exposure). The development set's spread of these against the camera and each other is how
    # the references' uncertainties were set (bench/quality.py --calibration).
    readings: tuple[tuple[str, float], ...] = ()
    # ln(exposure) and its sd from the photo's own evidence (the camera and the references)
    # before the skin prior: several photos of one person combine these and count the prior,
    # which is about the person, once. None: no prior was applied (the photo as taken).
    own_exposure: tuple[float, float] | None = None

    @property
    def white_balance(self) -> np.ndarray:
        """Per-channel linear-RGB gains that make the light neutral, keeping luminance."""
        return 1.0 / self.illuminant

    @property
    def gains(self) -> np.ndarray:
        """White balance and exposure together, per linear-RGB channel."""
        return self.white_balance * self.exposure_gain

    @property
    def cast_degrees(self) -> float:
        """Angle between the light and neutral grey in linear RGB: how strong the cast was."""
        cos = float(self.illuminant.sum() / (np.linalg.norm(self.illuminant) * np.sqrt(3)))
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


UNCORRECTED = LightEstimate(np.ones(3), 1.0, CAMERA_LOG_SD, "none", ())
"""The photo as the camera took it."""


def _light_from_chroma(chroma: np.ndarray) -> np.ndarray:
    """Linear RGB of unit luminance with log-chromaticity ``chroma`` (ln R/G, ln B/G)."""
    rgb = np.exp(np.array([chroma[0], 0.0, chroma[1]]))
    return rgb / float(rgb @ LUMINANCE)


def _gradient(values: np.ndarray) -> np.ndarray:
    # Sobel's 3 x 3 kernels weigh a unit step by 8 in total: per-pixel units.
    dx = cv2.Sobel(values, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    dy = cv2.Sobel(values, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    return cv2.magnitude(dx, dy)


def grey_pixel_chroma(surround: Surround, skin_chroma: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The light's log-chromaticity from the grey pixels of the surroundings, and how many
    pixels it rests on; None when the surroundings show too few."""
    # Light is judged on a slightly smoothed image: single-pixel noise is no chromaticity.
    rgb = cv2.blur(surround.rgb, (3, 3))
    log = np.log(np.maximum(rgb, 1e-4))
    red, blue = log[..., 0] - log[..., 1], log[..., 2] - log[..., 1]
    contrast = _gradient(np.log(np.maximum(rgb @ LUMINANCE.astype(np.float32), 1e-4)))
    # How much the chromaticity moves per unit of shading: ~0 on a grey surface, whose channels
    # the camera's tone curve treats alike; more on a coloured one, whose it bends apart.
    drift = cv2.magnitude(_gradient(red), _gradient(blue))
    greyness = cv2.blur(drift, (3, 3)) / np.maximum(cv2.blur(contrast, (3, 3)), 1e-4)
    brightest = surround.brightest
    skin_like = (np.abs(red - skin_chroma[0]) <= _SKIN_CHROMA_TOLERANCE) & (
        np.abs(blue - skin_chroma[1]) <= _SKIN_CHROMA_TOLERANCE
    )
    usable = (
        ~surround.hair_reach
        & (brightest < CLIPPED)
        & (brightest > 12)
        & (contrast > _MIN_CONTRAST)
        & ~skin_like
    )
    candidates = np.count_nonzero(usable)
    if candidates < _MIN_GREY_PIXELS:
        return None
    count = max(_MIN_GREY_PIXELS, int(candidates * _GREY_SHARE))
    index = np.flatnonzero(usable)
    greyest = index[np.argpartition(greyness.ravel()[index], count - 1)[:count]]
    chroma = np.array([np.median(red.ravel()[greyest]), np.median(blue.ravel()[greyest])])
    return chroma, count


def _below_ceiling(mean: float, var: float, ceiling: float, sd: float) -> tuple[float, float]:
    """The Gaussian belief N(mean, var) about ln(exposure), told that it lies below ``ceiling``
    up to that ceiling's own noise ``sd``: the exact mean and variance of the result (a Gaussian
    times a normal CDF, as in probit regression). A ceiling far above the belief changes
    nothing; one below it pulls the belief down to it, the more so the looser the belief and the
    surer the ceiling."""
    spread = math.sqrt(var + sd**2)
    # How many spreads the ceiling lies above the belief (floored where the normal tail
    # underflows), and the normal density over the chance of lying below it there.
    margin = max((ceiling - mean) / spread, -30.0)
    density = math.exp(-0.5 * margin**2) / math.sqrt(2 * math.pi)
    ratio = density / (0.5 * math.erfc(-margin / math.sqrt(2)))
    shrink = var / spread
    return mean - shrink * ratio, var - shrink**2 * ratio * (ratio + margin)


def exposure_limit(anchors: tuple[str, ...] | list[str]) -> float:
    """The largest ln(exposure) change believed with these references counting."""
    return CARD_EXPOSURE_LIMIT if "white_card" in anchors else EXPOSURE_LIMIT


def _skin_guess(luminance: float) -> tuple[float, float] | None:
    """The further ln(exposure) that brings skin of linear ``luminance`` to ``SKIN_LIGHTNESS``,
    and its sd: ``SKIN_LIGHTNESS_SD`` at the skin's own L*, which is wider in ln luminance for
    darker skin (L* + 16 grows as the cube root of luminance). None for a skin not measured."""
    if not math.isfinite(luminance) or luminance <= 0:
        return None
    lightness_plus_16 = 116 * math.cbrt(luminance)
    return (
        3 * math.log((SKIN_LIGHTNESS + 16) / lightness_plus_16),
        3 * SKIN_LIGHTNESS_SD / lightness_plus_16,
    )


def with_skin_prior(skin: np.ndarray, log_gain: float, log_sd: float) -> tuple[float, float]:
    """The belief N(``log_gain``, ``log_sd``²) about ln(exposure), told how light skin usually
    is: ``skin`` is the linear RGB of the skin, white-balanced, at exposure 1. The prior is
    linearised at the skin as that belief exposes it, so a dark reading is pulled less than a
    Gaussian in L* would pull it. A skin not measured changes nothing."""
    guess = _skin_guess(float(skin @ LUMINANCE) * math.exp(log_gain))
    if guess is None:
        return log_gain, log_sd
    further, sd = guess
    precision = log_sd**-2 + sd**-2
    return log_gain + further * sd**-2 / precision, precision**-0.5


def _combined_exposure(
    found: list[references.Reference], white_balance: np.ndarray, skin: np.ndarray
) -> Exposure:
    """ln(exposure) and its sd: the references and the camera's own exposure (ln 0), weighed by
    their precision, then the skin's plausible lightness (``with_skin_prior``). An eye or teeth
    reference that disagrees with the camera by more than both their uncertainties allow (three
    standard deviations) is more likely misread than the camera that far off, and is left out;
    a white card is believed however far off the camera was.

    A clipped reference is a ceiling, not a measurement: the photo is at least as over-exposed
    as it says. The belief from the others is cut at that ceiling (lowest first); a ceiling
    counts (is listed) when it moved the estimate by more than 1 %."""
    balanced = skin * white_balance
    weights, means, used = [CAMERA_LOG_SD**-2], [0.0], []
    guess = _skin_guess(float(balanced @ LUMINANCE))
    readings, ceilings = ([("skin", guess[0])] if guess else []), []
    for reference in found:
        log_exposure = reference.log_exposure(white_balance)
        trusted = reference.name == "white_card"
        if trusted or abs(log_exposure) <= 3 * np.hypot(reference.log_sd, CAMERA_LOG_SD):
            if reference.clipped:
                ceilings.append((log_exposure, reference))
                continue
            weights.append(1 / reference.log_sd**2)
            means.append(log_exposure)
            used.append(reference.name)
            readings.append((reference.name, log_exposure))
    var = 1 / float(np.sum(weights))
    mean = float(np.dot(weights, means)) * var
    for ceiling, reference in sorted(ceilings, key=lambda pair: pair[0]):
        cut, var = _below_ceiling(mean, var, ceiling, reference.log_sd)
        if mean - cut > 0.01:
            used.append(reference.name)
        mean = cut
    own = (mean, math.sqrt(var))
    mean, sd = with_skin_prior(balanced, *own)
    limit = exposure_limit(used)
    return Exposure(float(np.clip(mean, -limit, limit)), sd, used, readings, own)


def _white_balance_chroma(
    scene: tuple[np.ndarray, int] | None, eyes: references.Reference | None
) -> np.ndarray:
    """The light's log-chromaticity from the surroundings' grey pixels and the eye whites,
    weighed by precision against the camera's own white balance (no cast). Where the two
    disagree beyond their noise, the surroundings are taken to be a coloured scene and only the
    eyes and the camera count."""
    means, weights = [np.zeros(2)], [np.full(2, CAMERA_CHROMA_SD**-2)]
    eye_chroma = None
    if eyes is not None:
        eye_chroma = log_chroma(eyes.rgb) - references.SCLERA_CHROMA
        means.append(eye_chroma)
        weights.append(references.SCLERA_CHROMA_SD**-2)
    if scene is not None:
        chroma, count = scene
        spread = max(_GREY_CHROMA_SD, _GREY_CHROMA_SD * np.sqrt(_GREY_FULL_PIXELS / count))
        conflict = eye_chroma is not None and bool(
            (np.abs(chroma - eye_chroma) > 3 * np.hypot(spread, references.SCLERA_CHROMA_SD)).any()
        )
        if not conflict:
            means.append(chroma)
            weights.append(np.full(2, spread**-2))
    total = np.sum(weights, axis=0)
    return np.sum(np.multiply(weights, means), axis=0) / total


def _locus_distance(skin: np.ndarray, illuminant: np.ndarray) -> float:
    """How far (CIELAB a*b* units) the skin, corrected for ``illuminant``, lies outside the skin
    locus: 0 inside it."""
    lab = linear_rgb_to_lab(skin / illuminant)
    point = lab[1:].astype(float)
    least = SKIN_MIN_SATURATION * (float(lab[0]) + 16)
    chroma, hue = chroma_hue(lab)
    hue = hue - 360 if hue > 180 else hue
    if SKIN_HUE_LOCUS[0] <= hue <= SKIN_HUE_LOCUS[1]:
        return max(0.0, least - float(chroma))
    distances = []
    for edge in SKIN_HUE_LOCUS:
        ray = np.array([np.cos(np.radians(edge)), np.sin(np.radians(edge))])
        along = max(least, float(point @ ray))
        distances.append(float(np.linalg.norm(point - along * ray)))
    return min(distances)


def _keep_skin_skin(skin: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """The correction ``chroma`` (the light's log-chromaticity), shortened as far as needed to
    leave the skin inside the skin locus.

    Every human skin, whatever its tone, lies in a narrow band of chromaticity (the "skin
    locus": the hue angles of a yellowish red, never grey, green or blue). A correction that
    takes the skin out of it has mistaken a coloured scene, a graded film or the hair for the
    light, so it is shortened to the largest fraction (in tenths) that keeps the skin inside.
    When no fraction does (a strong cast the estimate overshoots), the one that leaves the skin
    nearest the locus stands."""
    fractions = np.linspace(1.0, 0.0, 11)
    distances = [_locus_distance(skin, _light_from_chroma(chroma * f)) for f in fractions]
    return chroma * fractions[int(np.argmin(distances))]


def estimate(regions: RegionPixels, points: np.ndarray) -> LightEstimate:
    """Estimate the light and the exposure of the face whose landmarks are ``points``."""
    skin = regions.skin_colour
    skin_chroma = log_chroma(skin)

    eye_whites = references.find_eye_whites(
        regions.sclera, regions.iris, skin, references.eye_openness(points)
    )
    eyes = eye_whites if eye_whites is not None and not eye_whites.clipped else None  # colour
    teeth = references.find_teeth(regions.teeth, regions.lips, references.mouth_openness(points))
    scene = grey_pixel_chroma(regions.surround, skin_chroma)
    # A card is only believed when its colour is the light's, as the grey pixels round it (or,
    # failing them, the eye whites) show it.
    shown = scene[0] if scene else log_chroma(eyes.rgb) - references.SCLERA_CHROMA if eyes else None
    card = references.find_white_card(regions.surround, skin, shown) if shown is not None else None
    if card is not None:
        chroma, reference = log_chroma(card.rgb), "white_card"
    else:
        chroma = _white_balance_chroma(scene, eyes)
        chroma = _keep_skin_skin(skin, np.clip(chroma, -CAST_LIMIT, CAST_LIMIT))
        reference = "eyes" if eyes is not None else "scene" if scene is not None else "none"
    illuminant = _light_from_chroma(np.clip(chroma, -CAST_LIMIT, CAST_LIMIT))

    anchors = [found for found in (card, eye_whites, teeth) if found is not None]
    exposure = _combined_exposure(anchors, 1 / illuminant, skin)
    return LightEstimate(
        illuminant=illuminant,
        exposure_gain=float(np.exp(exposure.log_gain)),
        log_exposure_sd=exposure.log_sd,
        reference=reference,
        anchors=tuple(exposure.used),
        readings=tuple(exposure.readings),
        own_exposure=exposure.own,
    )
