"""Regions: which pixels are skin, iris, sclera, lips, brows, hair, and which are background.

All regions come from the 478 Face Mesh landmarks (indices are MediaPipe's canonical face mesh,
named for the person: "left" is the person's left, the image's right). Masks are rasterised in a
box around the face only, so the cost does not grow with the photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from colorseason.analysis.colorspace import (
    CLIPPED,
    LOG_SRGB8,
    LUMINANCE,
    bgr8_to_linear_rgb,
    log_chroma,
    lookup,
)
from colorseason.analysis.landmarks import FaceLandmarks

RIGHT_CHEEK = (50, 101, 118, 117, 123, 147, 187, 205, 36)
LEFT_CHEEK = (280, 330, 347, 346, 352, 376, 411, 425, 266)
FOREHEAD = (10, 67, 69, 104, 108, 109, 151, 299, 337, 338)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
EYES = (RIGHT_EYE, LEFT_EYE)
RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre, then four points on the iris edge
LEFT_IRIS = (473, 474, 475, 476, 477)
LIPS_OUTER = (
    61,
    146,
    91,
    181,
    84,
    17,
    314,
    405,
    321,
    375,
    291,
    409,
    270,
    269,
    267,
    0,
    37,
    39,
    40,
    185,
)
LIPS_INNER = (
    78,
    95,
    88,
    178,
    87,
    14,
    317,
    402,
    318,
    324,
    308,
    415,
    310,
    311,
    312,
    13,
    82,
    81,
    80,
    191,
)
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
# The upper face outline, from temple to temple over the forehead: the hair line lies above it.
UPPER_OVAL = (234, 127, 162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389, 356, 454)


# Enough pixels for stable robust statistics, few enough to keep the cost flat with resolution.
REGION_SAMPLES = 3000
# How far around the head (in head widths and heights) the surroundings are taken from, and the
# face width they are resampled to: enough for grey pixels and a white card, at a flat cost.
SURROUND = 1.0
SURROUND_FACE_PIXELS = 64


@dataclass(frozen=True)
class Surround:
    """The head's surroundings as a small image: where the light is judged and a card is sought.

    Besides the pixels it keeps the planes every judgement needs, computed once: linear RGB, its
    luminance, ln(R/G) and ln(B/G), and each pixel's brightest 8-bit channel.
    """

    bgr: np.ndarray  # uint8 H x W x 3, resampled so the face is about SURROUND_FACE_PIXELS wide
    rgb: np.ndarray  # float32 H x W x 3, linear
    luminance: np.ndarray  # float32 H x W
    red: np.ndarray  # float32 H x W: ln(R/G)
    blue: np.ndarray  # float32 H x W: ln(B/G)
    brightest: np.ndarray  # uint8 H x W
    head: np.ndarray  # bool H x W: the face and the hair band
    hair_reach: np.ndarray  # bool H x W: as far round the face as hair and a beard may reach
    face_box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the face in ``bgr``
    touches: tuple[bool, bool, bool, bool]  # left, top, right, bottom edge is the photo's edge


@dataclass(frozen=True)
class RegionPixels:
    """8-bit BGR pixels of each region (N x 3 arrays), taken from the working image."""

    skin: np.ndarray
    skin_colour: np.ndarray  # linear RGB of the skin as a surface (``surface_colour``)
    left_cheek: np.ndarray
    right_cheek: np.ndarray
    iris: np.ndarray
    sclera: np.ndarray  # the eye openings without the iris discs: eye whites, lids, lashes
    lips: np.ndarray
    teeth: np.ndarray  # the mouth opening: teeth when the mouth is open and smiling
    brows: np.ndarray
    hair_band: np.ndarray
    surround: Surround
    face_box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the face in the working image


def surface_colour(bgr_pixels: np.ndarray, low: float = 15, high: float = 90) -> np.ndarray:
    """The linear-RGB colour of a matte surface (skin) from its 8-bit BGR pixels.

    Skin clips in red first: in a bright or flash-lit photo many skin pixels have R at 255 and
    have lost their hue, and the unclipped ones left are the shadowed, darker ones. So lightness
    is the trimmed median luminance of all pixels (the median holds while fewer than half clip),
    and chromaticity the median of the unclipped pixels in that luminance range, as a surface's
    chromaticity does not change with its shading.
    """
    if len(bgr_pixels) == 0:
        return np.full(3, np.nan)
    rgb = bgr8_to_linear_rgb(bgr_pixels)
    luminance = rgb @ LUMINANCE
    lo, hi = np.percentile(luminance, [low, high])
    kept = (luminance >= lo) & (luminance <= hi)
    unclipped = kept & (bgr_pixels.max(axis=1) < CLIPPED)
    chroma = np.median(log_chroma(rgb[unclipped if unclipped.sum() >= 20 else kept]), axis=0)
    colour = np.exp(np.array([chroma[0], 0.0, chroma[1]]))
    return colour * (float(np.median(luminance[kept])) / float(colour @ LUMINANCE))


def _polygon(mask: np.ndarray, points: np.ndarray, origin: np.ndarray, value: int = 255) -> None:
    hull = cv2.convexHull(np.round(points - origin).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, (value,))


def _ring(mask: np.ndarray, points: np.ndarray, origin: np.ndarray, value: int = 255) -> None:
    """Fill a non-convex outline given in order (eye openings, lips)."""
    cv2.fillPoly(mask, [np.round(points - origin).astype(np.int32)], (value,))


def _disc(mask: np.ndarray, centre: np.ndarray, radius: float, value: int = 255) -> None:
    cv2.circle(mask, np.round(centre).astype(int).tolist(), max(1, round(radius)), (value,), -1)


def sample_regions(bgr: np.ndarray, face: FaceLandmarks) -> RegionPixels:
    """Cut the face into regions and return each region's pixels."""
    points = face.points[:, :2]
    height, width = bgr.shape[:2]
    x0, y0, x1, y1 = face.box
    face_width, face_height = x1 - x0, y1 - y0
    # The box covers the face plus the hair band above it.
    bx0 = int(max(0, x0 - 0.15 * face_width))
    bx1 = int(min(width, x1 + 0.15 * face_width))
    by0 = int(max(0, y0 - 0.35 * face_height))
    by1 = int(min(height, y1 + 0.05 * face_height))
    origin = np.array([bx0, by0], np.float32)
    roi = bgr[by0:by1, bx0:bx1]
    shape = roi.shape[:2]

    def mask_of(*indices: tuple[int, ...]) -> np.ndarray:
        mask = np.zeros(shape, np.uint8)
        for group in indices:
            _polygon(mask, points[list(group)], origin)
        return mask

    right_cheek, left_cheek = mask_of(RIGHT_CHEEK), mask_of(LEFT_CHEEK)
    skin = mask_of(RIGHT_CHEEK, LEFT_CHEEK, FOREHEAD)

    eyes = np.zeros(shape, np.uint8)
    for outline in EYES:
        _ring(eyes, points[list(outline)], origin)
    iris_rings = np.zeros(shape, np.uint8)
    iris_discs = np.zeros(shape, np.uint8)
    for group in (RIGHT_IRIS, LEFT_IRIS):
        centre = points[group[0]] - origin
        radius = float(np.linalg.norm(points[list(group[1:])] - points[group[0]], axis=1).mean())
        _disc(iris_discs, centre, radius * 1.15)
        ring = np.zeros(shape, np.uint8)
        _disc(ring, centre, radius * 0.85)
        # The pupil is black for everyone: the iris colour is the ring around it.
        _disc(ring, centre, radius * 0.4, 0)
        iris_rings |= ring
    iris = iris_rings & eyes
    sclera = cv2.bitwise_and(
        cv2.erode(eyes, np.ones((3, 3), np.uint8)), cv2.bitwise_not(iris_discs)
    )

    lips = np.zeros(shape, np.uint8)
    _ring(lips, points[list(LIPS_OUTER)], origin)
    mouth = np.zeros(shape, np.uint8)
    _ring(mouth, points[list(LIPS_INNER)], origin)
    lips &= ~mouth

    brows = mask_of(RIGHT_BROW, LEFT_BROW)

    # Hair band: between the upper face outline lifted by 8 % and by 25 % of the face height.
    upper = points[list(UPPER_OVAL)]
    outer = upper - [0, 0.25 * face_height]
    inner = upper - [0, 0.08 * face_height]
    band = np.zeros(shape, np.uint8)
    _ring(band, np.concatenate([outer, inner[::-1]]), origin)

    face_area = np.zeros(shape, np.uint8)
    _ring(face_area, points[list(FACE_OVAL)], origin)

    def pixels(mask: np.ndarray) -> np.ndarray:
        # Only the mask's bounding box is searched: the same pixels, in the same order.
        left, top, box_width, box_height = cv2.boundingRect(mask)
        window = (slice(top, top + box_height), slice(left, left + box_width))
        found = roi[window][mask[window] > 0]
        # A median is as good from a few thousand pixels as from all of them.
        return found[:: max(1, len(found) // REGION_SAMPLES)]

    skin_pixels = pixels(skin)
    return RegionPixels(
        skin=skin_pixels,
        skin_colour=surface_colour(skin_pixels),
        left_cheek=pixels(left_cheek),
        right_cheek=pixels(right_cheek),
        iris=pixels(iris),
        sclera=pixels(sclera),
        lips=pixels(lips),
        teeth=pixels(cv2.erode(mouth, np.ones((3, 3), np.uint8))),
        brows=pixels(brows),
        hair_band=pixels(band & ~face_area),
        surround=_surround(
            bgr,
            (bx0, by0, bx1, by1),
            [points[list(FACE_OVAL)], np.concatenate([outer, inner[::-1]])],
            face.box,
        ),
        face_box=(int(x0), int(y0), int(x1), int(y1)),
    )


def _surround(
    bgr: np.ndarray,
    box: tuple[int, int, int, int],
    head_outlines: list[np.ndarray],
    face_box: tuple[float, float, float, float],
) -> Surround:
    """The photo within ``SURROUND`` head sizes of the head, resampled small; ``head_outlines``
    (working-image points) are the face and the hair band.

    Only the surroundings near the head count: they share the face's light, and how much of a
    wide frame is wall or sky then does not change the estimate.
    """
    bx0, by0, bx1, by1 = box
    margin_x, margin_y = SURROUND * (bx1 - bx0), SURROUND * (by1 - by0)
    sx0, sy0 = int(max(0, bx0 - margin_x)), int(max(0, by0 - margin_y))
    sx1 = int(min(bgr.shape[1], bx1 + margin_x))
    sy1 = int(min(bgr.shape[0], by1 + margin_y))
    shrink = min(1.0, SURROUND_FACE_PIXELS / max(face_box[2] - face_box[0], 1.0))
    size = (max(1, round((sx1 - sx0) * shrink)), max(1, round((sy1 - sy0) * shrink)))
    region = bgr[sy0:sy1, sx0:sx1]
    # Area averaging by a whole factor is several times faster than by any other: that part of
    # the shrink first, the rest after.
    factor = int(1 / shrink)
    if factor >= 2:
        region = cv2.resize(
            region, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA
        )
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    # The masks are drawn at the small size directly: resizing full-size masks costs more.
    origin = np.array([sx0, sy0], np.float32)
    head = np.zeros(small.shape[:2], np.uint8)
    for outline in head_outlines:
        cv2.fillPoly(head, [np.round((outline - origin) * shrink).astype(np.int32)], (255,))
    fx0, fy0, fx1, fy1 = ((v - o) * shrink for v, o in zip(face_box, (sx0, sy0) * 2, strict=True))
    # Hair and a beard reach beyond the hair band: an ellipse round the face.
    hair = head.copy()
    centre = (round((fx0 + fx1) / 2), round((fy0 + fy1) / 2 - 0.1 * (fy1 - fy0)))
    cv2.ellipse(
        hair, centre, (round(0.8 * (fx1 - fx0)), round(0.8 * (fy1 - fy0))), 0, 0, 360, (255,), -1
    )
    small_head, small_hair = head > 0, hair > 0
    rgb = bgr8_to_linear_rgb(small)
    log_bgr = lookup(small, LOG_SRGB8)
    log_blue, log_green, log_red = log_bgr[..., 0], log_bgr[..., 1], log_bgr[..., 2]
    return Surround(
        bgr=small,
        rgb=rgb,
        luminance=rgb @ LUMINANCE.astype(np.float32),
        red=log_red - log_green,
        blue=log_blue - log_green,
        brightest=np.maximum(np.maximum(small[..., 0], small[..., 1]), small[..., 2]),
        head=small_head,
        hair_reach=small_hair,
        face_box=(int(fx0), int(fy0), round(fx1), round(fy1)),
        touches=(sx0 == 0, sy0 == 0, sx1 == bgr.shape[1], sy1 == bgr.shape[0]),
    )
