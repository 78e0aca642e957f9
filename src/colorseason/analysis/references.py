"""References: things in the photo whose colour is known, found without being told.

A photo alone cannot say how light the skin is: the camera chose the exposure. Something of known
reflectance beside the skin can, and so, less surely, can the eye:

- **a white card** (a sheet of plain paper held beside the face): the best reference there is,
  for the light's colour and for exposure. It is told apart from walls, shirts, windows and the
  eye whites by being a compact, flat-lit, evenly coloured, unclipped quadrilateral of about a
  face's size, brighter than the skin, away from the head, and not cut by the frame.
- **the eyes** (Choi et al., IS&T EI 2017, calibrated face photos against spectrophotometer
  readings of 348 faces with the sclera and pupil as targets): the whites of the eyes are much
  the same for everyone whatever the skin, so skin lightness relative to them survives a change
  of exposure. They are gated by their own quality: the eyes open, enough white pixels (the
  whitest part of the eye openings, less red than the skin, brighter than the iris, bluer than
  the skin, which a tinted lens is not) and a plausible brightness for the skin; few pixels
  and half-closed eyes widen their uncertainty.
- **the teeth**: a weak anchor only (they are yellowish and often shadowed by the lips).

Eye whites or teeth that are mostly clipped still say something: they are at least as bright as
the clipping level, so the photo is at least that over-exposed. They are kept as a bound on the
exposure (``clipped``), never as a measurement of it, and their colour is not used.

Each reference reports what it measured and how far its known level can be trusted; the
illumination stage weighs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from colorseason.analysis.colorspace import CLIPPED, LUMINANCE, bgr8_to_linear_rgb, log_chroma
from colorseason.analysis.regions import Surround, surface_colour


@dataclass(frozen=True)
class Reference:
    """A reference found in the photo."""

    name: str  # "white_card" | "eyes" | "teeth"
    rgb: np.ndarray  # linear RGB of the reference as photographed
    luminance: float  # the luminance (Y) it would have in a well-exposed photo
    log_sd: float  # uncertainty of ln(exposure) set from it
    # Mostly clipped: what was measured is a floor of its brightness, so the exposure it gives
    # is a ceiling (an over-exposed photo shows itself by the whites it has burnt out).
    clipped: bool = False

    def log_exposure(self, white_balance: np.ndarray) -> float:
        """ln of the exposure gain that brings the reference, white-balanced by ``white_balance``
        (linear-RGB gains), to its known luminance."""
        measured = float((self.rgb * white_balance) @ LUMINANCE)
        return float(np.log(self.luminance / max(measured, 1e-6)))


# --- the white card ------------------------------------------------------------------------

# White office paper and white card reflect about 85-90 % of the light (ISO 2470 brightness
# 85-95); a well-exposed photo renders them near L* 94.
CARD_LUMINANCE = 0.85
CARD_LOG_SD = 0.05
# The card is brighter than the skin (skin reflects 10-60 %, paper 85 %; a card turned a little
# away from the light less), yet not a light source.
_CARD_OVER_SKIN = (1.1, 8.0)
# Paper is far less red than skin (ln R/G): a beige wall or a hand is not a white card.
_CARD_LESS_RED_THAN_SKIN = 0.25
# Its area, in face areas: a sheet of paper (A5 or larger) held beside the face is about a face
# wide and high; a wall is larger, a patch of wall between two heads smaller.
_CARD_AREA = (0.4, 3.0)
# Flat: the card's shading varies smoothly and its colour not at all, but for the sensor's and
# the JPEG's noise (ln units, robust spread, within 3 x 3 pixels and over the whole card).
_CARD_LOCAL_LOG_SD = 0.05
_CARD_CHROMA_SD = 0.05
# A quadrilateral: it fills its bounding rotated rectangle and its convex hull.
_CARD_RECTANGULARITY = 0.85
_CARD_SOLIDITY = 0.93
_CARD_ASPECT = 3.0
# It is a neutral surface: its chromaticity is the light's. So it lies within this of the light
# the surroundings' grey pixels and the eye whites show (ln units), and, under any plausible
# light, near the grey axis (a warm 2700 K lamp seen as daylight is about 0.9 away).
_CARD_LIGHT_AGREEMENT = 0.3
_CARD_MAX_CHROMA = 0.9
# A card's pixels lie within this fraction of its brightest tenth (shading across a flat sheet).
_CARD_LEVEL_BAND = 0.92
# Its edge: this share of the pixels just outside it at least this much darker than the card.
_CARD_EDGE_STEP = 0.9
_CARD_EDGE_SHARE = 0.6
# Held beside the face: its centre within this many face widths of the face's side, and between
# the brows and this many face heights below the chin.
_CARD_REACH = 1.2
_CARD_BELOW_CHIN = 0.8


def _local_sd(values: np.ndarray, size: int = 3) -> np.ndarray:
    mean = cv2.blur(values, (size, size))
    square = cv2.blur(values * values, (size, size))
    return np.sqrt(np.maximum(square - mean * mean, 0.0))


def _candidate_regions(
    candidate: np.ndarray, luminance: np.ndarray, min_area: float, max_area: float
) -> Iterator[tuple[np.ndarray, tuple[int, int, int, int], int]]:
    """Each connected region of ``candidate`` (uint8 mask) of ``min_area`` to ``max_area``
    pixels, with its bounding box (left, top, width, height) and area; and the brightest part
    of each region of at least ``min_area`` cut free: a card in front of an equally flat,
    slightly darker backdrop joins it in the mask, and its own level separates it again."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=4)
    for label in range(1, count):
        area = int(stats[label, cv2.CC_STAT_AREA])
        if area < min_area:
            continue
        region = labels == label
        if area <= max_area:
            yield region, _box(stats[label]), area
        level = float(np.percentile(luminance[region], 90))
        brightest = (region & (luminance >= _CARD_LEVEL_BAND * level)).astype(np.uint8)
        brightest = cv2.morphologyEx(brightest, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        parts, part_labels, part_stats, _ = cv2.connectedComponentsWithStats(
            brightest, connectivity=4
        )
        if parts > 1 and np.count_nonzero(brightest) < area:
            for part in range(1, parts):
                part_area = int(part_stats[part, cv2.CC_STAT_AREA])
                if min_area <= part_area <= max_area:
                    yield part_labels == part, _box(part_stats[part]), part_area


def _box(stats: np.ndarray) -> tuple[int, int, int, int]:
    """Left, top, width and height from one row of OpenCV's connected-component statistics."""
    return (
        int(stats[cv2.CC_STAT_LEFT]),
        int(stats[cv2.CC_STAT_TOP]),
        int(stats[cv2.CC_STAT_WIDTH]),
        int(stats[cv2.CC_STAT_HEIGHT]),
    )


def find_white_card(
    surround: Surround, skin: np.ndarray, light_chroma: np.ndarray
) -> Reference | None:
    """The white card beside the face, or None (most photos have none: it must not be guessed).
    ``skin`` is the skin's linear-RGB colour, ``light_chroma`` the light's log-chromaticity as
    the surroundings and the eyes show it."""
    height, width = surround.bgr.shape[:2]
    x0, y0, x1, y1 = surround.face_box
    face_area = max(1, (x1 - x0) * (y1 - y0))
    rgb, luminance, red, blue = surround.rgb, surround.luminance, surround.red, surround.blue
    skin_luminance = float(skin @ LUMINANCE)
    low, high = (skin_luminance * ratio for ratio in _CARD_OVER_SKIN)
    light_red, light_blue = (float(value) for value in light_chroma)
    # The cheap tests first: most photos have no pixel bright and neutral enough to be paper.
    candidate = (
        (luminance > low)
        & (luminance < high)
        & (surround.brightest < CLIPPED)
        & ~surround.head
        & (np.abs(red - light_red) < _CARD_LIGHT_AGREEMENT)
        & (np.abs(blue - light_blue) < _CARD_LIGHT_AGREEMENT)
        & (np.abs(red) < _CARD_MAX_CHROMA)
        & (np.abs(blue) < _CARD_MAX_CHROMA)
        & (red < float(log_chroma(skin)[0]) - _CARD_LESS_RED_THAN_SKIN)
    )
    if np.count_nonzero(candidate) < _CARD_AREA[0] * face_area:
        return None
    log_luminance = np.log(np.maximum(luminance, 1e-4))
    flat = (_local_sd(log_luminance) < _CARD_LOCAL_LOG_SD) & (
        np.maximum(_local_sd(red), _local_sd(blue)) < _CARD_CHROMA_SD
    )
    candidate = (candidate & flat).astype(np.uint8)
    candidate = cv2.morphologyEx(candidate, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    head_ring = cv2.dilate(surround.head.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    best: tuple[float, np.ndarray] | None = None
    areas = (_CARD_AREA[0] * face_area, _CARD_AREA[1] * face_area)
    for region, (left, top, box_width, box_height), area in _candidate_regions(
        candidate, luminance, *areas
    ):
        centre_x, centre_y = left + box_width / 2, top + box_height / 2
        face_width, face_height = x1 - x0, y1 - y0
        beside = min(abs(centre_x - x0), abs(centre_x - x1)) <= _CARD_REACH * face_width
        if not (
            beside and y0 + 0.3 * face_height <= centre_y <= y1 + _CARD_BELOW_CHIN * face_height
        ):
            continue
        # A region cut by the frame (a wall, a window, a shirt) has lost its shape: not a card.
        edges = (left == 0, top == 0, left + box_width == width, top + box_height == height)
        cut = zip(edges, surround.touches, strict=True)
        if any(edge and at_photo_edge for edge, at_photo_edge in cut):
            continue
        # A wall behind the head wraps round it; a card in front may touch it only briefly.
        if np.count_nonzero(region & head_ring) > 0.15 * np.sqrt(area) * 4:
            continue
        contour = cv2.findContours(
            region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )[0][0]
        (_, _), (side_a, side_b), _ = cv2.minAreaRect(contour)
        hull_area = cv2.contourArea(cv2.convexHull(contour))
        if min(side_a, side_b) < 3 or max(side_a, side_b) > _CARD_ASPECT * min(side_a, side_b):
            continue
        if area < _CARD_RECTANGULARITY * side_a * side_b or area < _CARD_SOLIDITY * hull_area:
            continue
        inside = cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        pixels = rgb[inside if np.count_nonzero(inside) >= 20 else region]
        # A card's edge is a step all round it; a patch of wall that merely looks like one
        # runs on into the same wall on some side.
        # (the ring lies 3-4 pixels out, past the edge's blur)
        mask = region.astype(np.uint8)
        ring = (cv2.dilate(mask, np.ones((9, 9), np.uint8)) > 0) & ~(
            cv2.dilate(mask, np.ones((5, 5), np.uint8)) > 0
        )
        card_level = float(np.median(pixels @ LUMINANCE))
        if np.mean(luminance[ring] < _CARD_EDGE_STEP * card_level) < _CARD_EDGE_SHARE:
            continue
        card_chroma = log_chroma(pixels)
        spread = 1.4826 * np.median(np.abs(card_chroma - np.median(card_chroma, axis=0)), axis=0)
        if float(spread.max()) > _CARD_CHROMA_SD:
            continue
        # Of several candidates, paper is the brightest matte thing beside a face.
        score = float(np.median(pixels @ LUMINANCE))
        if best is None or score > best[0]:
            best = (score, pixels)
    if best is None:
        return None
    pixels = best[1]
    return Reference(
        "white_card",
        np.median(pixels, axis=0),
        CARD_LUMINANCE,
        CARD_LOG_SD,
    )


# --- the eyes and the teeth ---------------------------------------------------------------

# The eye whites' luminance in a well-exposed photo: the level at which, over the development
# set, skin lightness set from the eyes agrees (in the median) with the photos as their cameras
# exposed them (docs/model-card.md).
SCLERA_LUMINANCE = 0.28
# The eye whites' own colour in photos (ln R/G, ln B/G under a neutral light) and its spread:
# redder than neutral (vessels, the lids' and JPEG's shared chroma), and far less sure in red
# than in blue. Measured on the development set against the surroundings' grey pixels.
SCLERA_CHROMA = np.array([0.14, -0.03])
SCLERA_CHROMA_SD = np.array([0.3, 0.2])
# How far the exposure the eye whites give strays from the photo's true one (ln units): the eye
# whites differ little between people, but the lids, the brow and the light's direction shade
# them unlike the cheeks. Measured on the development set against the camera, the skin and the
# teeth (four-cornered hat: 0.45, 90 % interval 0.33-0.53; with three corners, before the skin
# counted, 0.45-0.47 as the gate below lets more or fewer eyes in; bench/quality.py
# --calibration). The frames of one video repeat far better (0.06): that is repeatability, not
# the error.
EYE_LOG_SD = 0.45
EYES_OPEN_RATIO = 0.2
# Natural teeth measure about L* 80-84 (b* about 24: yellowish, so never a white balance); in
# photos, lips and the mouth's depth shade them, so they count as a weak anchor only. The hat
# puts them at 0.23 (0-0.33; 0.05 with three corners), the best reference of all, which is more
# likely their errors following the camera's (bright teeth sit on the tone curve's shoulder, which
# compresses a change of exposure) than accuracy: the hat cannot tell the two apart.
TEETH_LUMINANCE = 0.41
TEETH_LOG_SD = 0.35
MOUTH_OPEN_RATIO = 0.08
_MIN_WHITE_PIXELS = 8
# The whitest share of the eye openings (without the irises) or of the mouth opening: the part
# that is eye white or teeth rather than lid, lash, lip or shadow.
_WHITE_SHARE = 0.35
# A white pixel is less red than the skin (or lips) around it by this much (ln R/G), and
# brighter than the iris (or the mouth's shadow) by this factor. Lids, the caruncle and the
# chroma a JPEG shares between neighbouring pixels are skin-coloured: they fail the first test.
_WHITE_LESS_RED = 0.15
_WHITE_OVER_DARK = 1.5
# Eye whites within this range of the skin's luminance (ln units): darker are sunglasses or
# deep shadow, brighter are a reflection.
_SCLERA_OVER_SKIN = (-1.3, 1.5)
# With this many white pixels a reference is as good as it gets; with half or more of them
# censored (green clipped) it only bounds the exposure; eyes open less than this ratio show
# less of their whites.
_FULL_WHITE_PIXELS = 30
_MAX_CENSORED = 0.5
_EYES_WIDE_RATIO = 0.3


def eye_openness(points: np.ndarray) -> float:
    """Lid gap over eye width, the more open of the two eyes."""

    def ratio(top: int, bottom: int, outer: int, inner: int) -> float:
        gap = float(np.linalg.norm(points[top, :2] - points[bottom, :2]))
        return gap / max(float(np.linalg.norm(points[outer, :2] - points[inner, :2])), 1e-6)

    return max(ratio(159, 145, 33, 133), ratio(386, 374, 263, 362))


def mouth_openness(points: np.ndarray) -> float:
    """Inner lip gap over mouth width."""
    gap = float(np.linalg.norm(points[13, :2] - points[14, :2]))
    return gap / max(float(np.linalg.norm(points[78, :2] - points[308, :2])), 1e-6)


@dataclass(frozen=True)
class _Whites:
    colour: np.ndarray  # linear RGB: chromaticity of the unclipped white pixels, median luminance
    censored: float  # share of the white pixels with green clipped: their luminance is unknown
    count: int


def _whites(candidates: np.ndarray, around: np.ndarray, dark: np.ndarray) -> _Whites | None:
    """The white part of ``candidates`` (8-bit BGR pixels), or None when too few are white.

    ``around`` is the linear-RGB colour of the tissue next to it (skin, lips), ``dark`` the
    pixels of the dark part beside it (iris, mouth). A clipped red channel barely moves
    luminance, so only clipped green censors it; chromaticity comes from the pixels with no
    channel clipped.
    """
    if len(candidates) < _MIN_WHITE_PIXELS or len(dark) == 0:
        return None
    rgb = bgr8_to_linear_rgb(candidates)
    luminance = rgb @ LUMINANCE
    chroma = log_chroma(rgb)
    # Whiteness: bright and not red. Its ranking does not change with exposure (a gain shifts
    # every pixel's ln Y alike) nor with the light's colour (a cast shifts every ln R/G alike).
    whiteness = np.log(np.maximum(luminance, 1e-6)) - chroma[:, 0]
    count = max(_MIN_WHITE_PIXELS, round(_WHITE_SHARE * len(candidates)))
    white = np.zeros(len(candidates), bool)
    white[np.argpartition(-whiteness, count - 1)[:count]] = True
    dark_level = float(np.median(bgr8_to_linear_rgb(dark) @ LUMINANCE))
    white &= luminance > _WHITE_OVER_DARK * dark_level
    count = int(np.count_nonzero(white))
    if count < _MIN_WHITE_PIXELS:
        return None
    # Whites are less red than the tissue around them; if not, they are that tissue.
    if np.median(chroma[white, 0]) > log_chroma(around)[0] - _WHITE_LESS_RED:
        return None
    level = float(np.median(luminance[white]))
    unclipped = white & (candidates.max(axis=1) < CLIPPED)
    white_chroma = np.median(chroma[unclipped if unclipped.sum() >= 4 else white], axis=0)
    colour = np.exp(np.array([white_chroma[0], 0.0, white_chroma[1]]))
    return _Whites(
        colour * (level / float(colour @ LUMINANCE)),
        float(np.mean(candidates[white][:, 1] >= CLIPPED)),
        count,
    )


def _reference(name: str, found: _Whites, luminance: float, base_sd: float) -> Reference:
    """``found`` as a reference of known ``luminance``. Its uncertainty is ``base_sd`` with
    enough pixels, growing as they get fewer (few are worse than their number says: each is as
    likely lid or lash as white, so the growth is linear in 1/count). Censored pixels do not
    widen it: the median level is exact while fewer than half are censored. Half or more
    censored, the level is only a floor, and the reference a bound (``clipped``)."""
    few = max(1.0, _FULL_WHITE_PIXELS / found.count)
    clipped = found.censored >= _MAX_CENSORED
    return Reference(name, found.colour, luminance, base_sd * few, clipped=clipped)


def find_eye_whites(
    sclera: np.ndarray, iris: np.ndarray, skin_colour: np.ndarray, openness: float
) -> Reference | None:
    """The eye whites as a reference, or None when they cannot be trusted: eyes closed, too few
    white pixels, or implausibly dark or bright for the skin (sunglasses, deep shadow).
    Half-closed eyes and few pixels count for less; mostly clipped whites are only a bound."""
    if openness < EYES_OPEN_RATIO or not np.isfinite(skin_colour).all():
        return None
    found = _whites(sclera, skin_colour, iris)
    if found is None:
        return None
    # Whites are bluer than skin too: a tinted lens is not.
    if log_chroma(skin_colour)[1] >= log_chroma(found.colour)[1]:
        return None
    over_skin = np.log(float(found.colour @ LUMINANCE) / max(float(skin_colour @ LUMINANCE), 1e-6))
    if not _SCLERA_OVER_SKIN[0] <= over_skin <= _SCLERA_OVER_SKIN[1]:
        return None
    squint = max(1.0, _EYES_WIDE_RATIO / openness)
    return _reference("eyes", found, SCLERA_LUMINANCE, EYE_LOG_SD * squint)


def find_teeth(teeth: np.ndarray, lips: np.ndarray, openness: float) -> Reference | None:
    """The teeth as a weak exposure anchor, or None (mouth closed, teeth hidden or in shadow)."""
    if openness < MOUTH_OPEN_RATIO:
        return None
    if len(lips) == 0:
        return None
    found = _whites(teeth, surface_colour(lips), lips)
    if found is None:
        return None
    return _reference("teeth", found, TEETH_LUMINANCE, TEETH_LOG_SD)
