"""Test helpers shipped with the library: real face photos from package data, re-encoded in memory.

The photos come from PyPI packages (scikit-image's astronaut, matplotlib's grace_hopper sample), so
tests and benchmarks need no downloads and no image files in this repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import cache

import cv2
import numpy as np

from colorseason.analysis.colorspace import SRGB8_TO_LINEAR, linear_to_srgb

# Each sample photo and the PyPI package it ships in: both are in the dev dependency group only.
SAMPLE_PACKAGES: dict[str, str] = {"astronaut": "scikit-image", "grace_hopper": "matplotlib"}
SAMPLE_NAMES: tuple[str, ...] = tuple(SAMPLE_PACKAGES)


@cache
def sample_bgr(name: str) -> np.ndarray:
    """The named sample photo as an 8-bit BGR array (read-only; copy before changing it)."""
    if name == "astronaut":
        from skimage import data

        image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    elif name == "grace_hopper":
        from matplotlib import cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        encoded = np.fromfile(path, np.uint8)
        image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    else:
        raise ValueError(f"unknown sample {name!r}; choose from {SAMPLE_NAMES}")
    image.setflags(write=False)
    return image


def encode(image: np.ndarray, fmt: str = ".jpg", quality: int = 92) -> bytes:
    """Encode a BGR array in memory (``.jpg``, ``.png`` or ``.webp``)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == ".jpg" else []
    if fmt == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, quality]
    ok, buffer = cv2.imencode(fmt, image, params)
    if not ok:
        raise ValueError(f"could not encode as {fmt}")
    return buffer.tobytes()


def resize_to_megapixels(image: np.ndarray, megapixels: float) -> np.ndarray:
    """Scale ``image`` (keeping its aspect ratio) to about ``megapixels`` million pixels."""
    height, width = image.shape[:2]
    scale = (megapixels * 1e6 / (height * width)) ** 0.5
    size = (round(width * scale), round(height * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


def sample_jpeg(
    name: str = "astronaut", megapixels: float | None = None, quality: int = 92
) -> bytes:
    """A sample face photo as JPEG bytes, optionally upscaled to ``megapixels`` (e.g. 2.0)."""
    image = sample_bgr(name)
    if megapixels is not None:
        image = resize_to_megapixels(image, megapixels)
    return encode(image, ".jpg", quality)


def two_faces_bgr() -> np.ndarray:
    """A group photo made of the samples: grace_hopper on the left (face 0, the larger) and a
    half-size copy of her on the right (face 1), on a grey ground."""
    big = sample_bgr("grace_hopper")
    small = big[::2, ::2]
    canvas = np.full((big.shape[0], big.shape[1] + small.shape[1] + 40, 3), 120, np.uint8)
    canvas[:, : big.shape[1]] = big
    canvas[100 : 100 + small.shape[0], big.shape[1] + 40 :] = small
    return canvas


def two_faces_jpeg() -> bytes:
    """:func:`two_faces_bgr` as JPEG bytes."""
    return encode(two_faces_bgr())


def group_bgr(columns: int, rows: int = 1, face_pixels: int = 160) -> np.ndarray:
    """A group photo of ``columns`` × ``rows`` head-and-shoulders crops of the samples (astronaut
    and grace_hopper by turns), each ``face_pixels`` square, on a grey ground: the faces are small
    against the frame, as in a photo of a team."""
    heads = []
    for number in range(columns * rows):
        photo = sample_bgr("astronaut" if number % 2 == 0 else "grace_hopper")
        height, width = photo.shape[:2]
        side = min(height, width)
        square = photo[:side, (width - side) // 2 : (width - side) // 2 + side]
        heads.append(cv2.resize(square, (face_pixels, face_pixels), interpolation=cv2.INTER_AREA))
    grid = np.vstack([np.hstack(heads[row * columns : (row + 1) * columns]) for row in range(rows)])
    frame = np.full((grid.shape[0] + 200, grid.shape[1] + 200, 3), 128, np.uint8)
    frame[100 : 100 + grid.shape[0], 100 : 100 + grid.shape[1]] = grid
    return frame


# Synthetic variants: the degradations the pipeline must survive (docs/benchmarks.md). Light and
# exposure act on linear RGB, where light mixes; the results are 8-bit BGR again.

CASTS_RGB: dict[str, tuple[float, float, float]] = {
    "warm": (1.0, 0.80, 0.55),
    "cool": (0.80, 0.92, 1.0),
    "green": (0.85, 1.0, 0.85),
    "magenta": (1.0, 0.85, 1.0),
    "tungsten": (1.0, 0.70, 0.40),
}
"""Illuminant casts as per-channel gains in linear **RGB** order."""

EXPOSURES: tuple[float, ...] = (0.6, 1.4)
"""Exposure factors in linear light (×0.6 under-, ×1.4 over-exposed)."""


def _to_linear(bgr: np.ndarray) -> np.ndarray:
    return SRGB8_TO_LINEAR[bgr]


def _to_srgb8(linear: np.ndarray) -> np.ndarray:
    return np.round(linear_to_srgb(linear) * 255.0).astype(np.uint8)


def apply_cast(bgr: np.ndarray, gains_rgb: tuple[float, float, float]) -> np.ndarray:
    """The photo as if lit by a coloured light: linear RGB scaled per channel (von Kries)."""
    gains_bgr = np.asarray(gains_rgb, dtype=np.float32)[::-1]
    return _to_srgb8(_to_linear(bgr) * gains_bgr)


def apply_exposure(bgr: np.ndarray, factor: float) -> np.ndarray:
    """The photo with ``factor`` times the light (highlights clip, as in a camera)."""
    return _to_srgb8(_to_linear(bgr) * np.float32(factor))


def recompress(bgr: np.ndarray, quality: int) -> np.ndarray:
    """The photo after one JPEG round trip at ``quality`` (blocking, chroma subsampling)."""
    return cv2.imdecode(np.frombuffer(encode(bgr, ".jpg", quality), np.uint8), cv2.IMREAD_COLOR)


def downscale(bgr: np.ndarray, fraction: float) -> np.ndarray:
    """The photo scaled to ``fraction`` of its width and height (area averaging)."""
    height, width = bgr.shape[:2]
    size = (max(1, round(width * fraction)), max(1, round(height * fraction)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def embed_small(
    bgr: np.ndarray, fraction: float, background: tuple[int, int, int] = (128, 128, 128)
) -> np.ndarray:
    """The photo centred in a larger frame so that it spans ``fraction`` of the frame's width.

    The frame has the photo's aspect ratio and a neutral grey background (neutral, so it does not
    bias the light estimate). The face then spans ``fraction`` times its share of the photo.
    """
    height, width = bgr.shape[:2]
    frame_width, frame_height = round(width / fraction), round(height / fraction)
    frame = np.empty((frame_height, frame_width, 3), np.uint8)
    frame[:] = background
    top, left = (frame_height - height) // 2, (frame_width - width) // 2
    frame[top : top + height, left : left + width] = bgr
    return frame


def one_person_jpegs(name: str = "astronaut", megapixels: float | None = None) -> list[bytes]:
    """Three photos of one person, as JPEG bytes: the sample as it is, under a warm light and
    under a cool one (the same face, so they agree on everything but the light), optionally
    upscaled to ``megapixels``."""
    bgr = sample_bgr(name)
    if megapixels is not None:
        bgr = resize_to_megapixels(bgr, megapixels)
    return [
        encode(bgr),
        encode(apply_cast(bgr, CASTS_RGB["warm"])),
        encode(apply_cast(bgr, CASTS_RGB["cool"])),
    ]


def multipart_photos(photos: list[bytes]) -> tuple[bytes, dict[str, str]]:
    """A ``multipart/form-data`` body with each photo as an ``image`` part, and its header: what
    ``curl -F image=@a.jpg -F image=@b.jpg ...`` sends."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{number}.jpg"'
        "\r\nContent-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
        for number, photo in enumerate(photos)
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


JPEG_QUALITY = 35
DOWNSCALE = 0.25


def degraded_variants(bgr: np.ndarray) -> Iterator[tuple[str, str, np.ndarray]]:
    """(kind, name, image) for each degradation the season family must survive: the casts, the
    exposures, one JPEG round trip at ``JPEG_QUALITY`` and a ``DOWNSCALE``."""
    for name, gains in CASTS_RGB.items():
        yield "cast", name, apply_cast(bgr, gains)
    for factor in EXPOSURES:
        yield "exposure", f"exposure ×{factor:g}", apply_exposure(bgr, factor)
    yield "jpeg", f"JPEG q{JPEG_QUALITY}", recompress(bgr, JPEG_QUALITY)
    yield "downscale", f"downscale {DOWNSCALE:.0%}", downscale(bgr, DOWNSCALE)


# Changes to one face's skin alone (eyes, brows, lips, hair and background untouched): the
# pipeline must read a warmer skin as warmer and a darker skin as darker, whatever else it uses.


def skin_mask(bgr: np.ndarray, face: int | None = None) -> np.ndarray:
    """A soft mask (float32, 0-1, H x W) of one face's skin: the face outline without the eyes,
    brows and lips, feathered so that no new edge appears."""
    from colorseason.analysis import landmarks, regions

    points = landmarks.detect(bgr, face).points[:, :2]
    mask = np.zeros(bgr.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[list(regions.FACE_OVAL)]).astype(np.int32)], (255,))
    for part in (*regions.EYES, regions.LIPS_OUTER, regions.RIGHT_BROW, regions.LEFT_BROW):
        hull = cv2.convexHull(np.round(points[list(part)]).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, (0,))
    face_width = float(np.ptp(points[:, 0]))
    sigma = max(1.0, face_width / 60)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), sigma)


def _blend(bgr: np.ndarray, changed_linear_bgr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    linear = _to_linear(bgr)
    weight = mask[..., None]
    return _to_srgb8(linear * (1 - weight) + changed_linear_bgr * weight)


def shift_skin_hue(bgr: np.ndarray, mask: np.ndarray, degrees: float) -> np.ndarray:
    """The photo with the masked skin's CIELAB hue angle turned by ``degrees`` (positive: towards
    yellow, a warmer undertone; negative: towards pink), lightness and chroma kept."""
    from colorseason.analysis.colorspace import lab_to_linear_rgb, linear_rgb_to_lab

    lab = linear_rgb_to_lab(_to_linear(bgr)[..., ::-1])
    angle = np.radians(degrees)
    a, b = lab[..., 1].copy(), lab[..., 2].copy()
    lab[..., 1] = a * np.cos(angle) - b * np.sin(angle)
    lab[..., 2] = a * np.sin(angle) + b * np.cos(angle)
    return _blend(bgr, lab_to_linear_rgb(lab)[..., ::-1], mask)


def scale_skin_lightness(bgr: np.ndarray, mask: np.ndarray, factor: float) -> np.ndarray:
    """The photo with the masked skin reflecting ``factor`` times the light (below 1: darker
    skin under the same light, the eyes and everything else unchanged)."""
    return _blend(bgr, _to_linear(bgr) * np.float32(factor), mask)


def paste_white_card(
    bgr: np.ndarray,
    face_box: tuple[float, float, float, float],
    level: float = 0.55,
    side: str | None = None,
) -> np.ndarray:
    """The photo with a sheet of white paper held beside the face at jaw height.

    The card is a slightly tilted rectangle of neutral reflectance ``level`` (linear light) under
    the photo's own light, with the gentle shading and sensor noise of a real one. It goes on
    ``side`` ("left" or "right" in the image) or on the side of the face with more room, and
    shrinks to fit the frame.
    """
    height, width = bgr.shape[:2]
    x0, y0, x1, y1 = face_box
    face_width, face_height = x1 - x0, y1 - y0
    right = (x0 + x1) / 2 < width / 2 if side is None else side == "right"
    room = (width - x1) if right else x0
    card_width = min(0.9 * face_width, 0.8 * room)
    card_height = min(1.25 * card_width, 0.9 * height)
    gap = 0.1 * face_width
    centre_x = x1 + gap + card_width / 2 if right else x0 - gap - card_width / 2
    centre_y = min(y1 - 0.15 * face_height, height - card_height / 2 - 2)
    corners = cv2.boxPoints(((centre_x, centre_y), (card_width, card_height), 4.0))
    mask = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(mask, np.round(corners).astype(np.int32), (255,))
    rows = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    shading = level * (1 + 0.03 * rows) * np.ones((1, width), np.float32)
    rng = np.random.default_rng(0)
    card = _to_srgb8(np.repeat(shading[..., None], 3, axis=2))
    noisy = np.clip(card + rng.normal(0, 1.2, card.shape), 0, 255).astype(np.uint8)
    out = bgr.copy()
    out[mask > 0] = noisy[mask > 0]
    return out
