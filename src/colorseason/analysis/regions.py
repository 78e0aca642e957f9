"""Regions: which pixels are skin, iris, sclera, lips, brows, hair, and which are background.

All regions come from the 478 Face Mesh landmarks (indices are MediaPipe's canonical face mesh,
named for the person: "left" is the person's left, the image's right). Masks are rasterised in a
box around the face only, so the cost does not grow with the photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from colorseason.analysis.landmarks import FaceLandmarks

RIGHT_CHEEK = (50, 101, 118, 117, 123, 147, 187, 205, 36)
LEFT_CHEEK = (280, 330, 347, 346, 352, 376, 411, 425, 266)
FOREHEAD = (10, 67, 69, 104, 108, 109, 151, 299, 337, 338)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
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
BACKGROUND_SAMPLES = 12000
# How far around the head (in head widths and heights) the background is taken from.
SURROUND = 1.0


@dataclass(frozen=True)
class RegionPixels:
    """8-bit BGR pixels of each region (N x 3 arrays), taken from the working image."""

    skin: np.ndarray
    left_cheek: np.ndarray
    right_cheek: np.ndarray
    iris: np.ndarray
    sclera: np.ndarray
    lips: np.ndarray
    brows: np.ndarray
    hair_band: np.ndarray
    background: np.ndarray  # outside the face and hair, subsampled
    face_box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the face in the working image


def _polygon(mask: np.ndarray, points: np.ndarray, origin: np.ndarray, value: int = 255) -> None:
    hull = cv2.convexHull(np.round(points - origin).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, value)


def _ring(mask: np.ndarray, points: np.ndarray, origin: np.ndarray, value: int = 255) -> None:
    """Fill a non-convex outline given in order (eye openings, lips)."""
    cv2.fillPoly(mask, [np.round(points - origin).astype(np.int32)], value)


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
    _ring(eyes, points[list(RIGHT_EYE)], origin)
    _ring(eyes, points[list(LEFT_EYE)], origin)
    irises = np.zeros(shape, np.uint8)
    iris_discs = np.zeros(shape, np.uint8)
    for group in (RIGHT_IRIS, LEFT_IRIS):
        centre = points[group[0]] - origin
        radius = float(np.linalg.norm(points[list(group[1:])] - points[group[0]], axis=1).mean())
        cv2.circle(
            iris_discs, np.round(centre).astype(int).tolist(), max(1, round(radius * 1.15)), 255, -1
        )
        ring = np.zeros(shape, np.uint8)
        cv2.circle(
            ring, np.round(centre).astype(int).tolist(), max(1, round(radius * 0.85)), 255, -1
        )
        # The pupil is black for everyone: keep the coloured ring only.
        cv2.circle(ring, np.round(centre).astype(int).tolist(), round(radius * 0.4), 0, -1)
        irises |= ring
    iris = irises & eyes
    sclera = cv2.erode(eyes, np.ones((3, 3), np.uint8)) & ~iris_discs

    lips = np.zeros(shape, np.uint8)
    _ring(lips, points[list(LIPS_OUTER)], origin)
    _ring(lips, points[list(LIPS_INNER)], origin, 0)

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
        found = roi[mask > 0]
        # A median is as good from a few thousand pixels as from all of them.
        return found[:: max(1, len(found) // REGION_SAMPLES)]

    background = _background(bgr, (bx0, by0, bx1, by1), face_area | band)
    return RegionPixels(
        skin=pixels(skin),
        left_cheek=pixels(left_cheek),
        right_cheek=pixels(right_cheek),
        iris=pixels(iris),
        sclera=pixels(sclera),
        lips=pixels(lips),
        brows=pixels(brows),
        hair_band=pixels(band & ~face_area),
        background=background,
        face_box=(int(x0), int(y0), int(x1), int(y1)),
    )


def _background(
    bgr: np.ndarray, box: tuple[int, int, int, int], face_and_hair: np.ndarray
) -> np.ndarray:
    """Pixels around the head but outside the face and hair band, on a grid of about
    ``BACKGROUND_SAMPLES`` points.

    Only the surroundings within ``SURROUND`` head sizes count: they share the face's light, and
    how much of a wide frame is wall or sky then does not change the metering.
    """
    bx0, by0, bx1, by1 = box
    margin_x, margin_y = SURROUND * (bx1 - bx0), SURROUND * (by1 - by0)
    sx0, sy0 = int(max(0, bx0 - margin_x)), int(max(0, by0 - margin_y))
    sx1 = int(min(bgr.shape[1], bx1 + margin_x))
    sy1 = int(min(bgr.shape[0], by1 + margin_y))
    surround = bgr[sy0:sy1, sx0:sx1]
    keep = np.ones(surround.shape[:2], bool)
    keep[by0 - sy0 : by1 - sy0, bx0 - sx0 : bx1 - sx0] = face_and_hair == 0
    step = max(2, round((surround.shape[0] * surround.shape[1] / BACKGROUND_SAMPLES) ** 0.5))
    return surround[::step, ::step][keep[::step, ::step]]
