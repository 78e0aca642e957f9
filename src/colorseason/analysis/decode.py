"""Decode and validate: bytes in, a bounded BGR working image out, nothing written anywhere.

The format is sniffed from magic bytes (the caller's content type is only a hint) and the
dimensions are read from the header, so oversize images (decompression bombs) are refused before
a single pixel is decoded. JPEGs are decoded at 1/2, 1/4 or 1/8 scale straight from the DCT when
the photo is much larger than the working size: a 2 MP photo then decodes in about half the time.
OpenCV applies the EXIF orientation itself. :func:`validate` is the cheap part alone (no pixel
decoded): what analyze's ``POST /jobs`` checks before it queues a photo.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from colorseason.analysis.formats import FORMAT_NAMES, MAX_IMAGE_BYTES
from colorseason.errors import (
    CorruptImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnsupportedMediaTypeError,
)

MAX_PIXELS = 40_000_000
MIN_SIDE = 64
MAX_ASPECT = 8  # panoramas and strips hold no analysable face, and would shrink to nothing
# The working copy: large enough for a face at 30 % of the frame to keep ~200 px, small enough
# that landmarks and sampling stay within a few milliseconds.
MIN_WORKING_SIDE = 640
MAX_WORKING_SIDE = 1280

_REDUCED_FLAGS = {
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
_OTHER_FORMATS = {
    b"GIF8": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"%PDF": "PDF",
}


@dataclass(frozen=True)
class ImageHeader:
    """What the header of an accepted photo says, read without decoding a pixel."""

    format: str  # "jpeg" | "png" | "webp"
    width: int  # before EXIF rotation
    height: int


@dataclass(frozen=True)
class DecodedImage:
    """The working copy of a photo and what is known about the original."""

    bgr: np.ndarray  # uint8, H x W x 3, longest side <= MAX_WORKING_SIDE
    format: str  # "jpeg" | "png" | "webp"
    width: int  # the original's dimensions, from its header (before EXIF rotation)
    height: int
    scale: float  # working pixels per original pixel
    grayscale: bool  # no colour information in the photo


def sniff_format(data: bytes) -> str:
    """The image format from magic bytes, or ``UnsupportedMediaTypeError``."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypavif"):
        raise UnsupportedMediaTypeError(
            f"HEIC/AVIF photos are not supported; export the photo as {FORMAT_NAMES}."
        )
    for magic, name in _OTHER_FORMATS.items():
        if data.startswith(magic):
            raise UnsupportedMediaTypeError(f"{name} is not supported; send {FORMAT_NAMES}.")
    raise UnsupportedMediaTypeError(f"Not a {FORMAT_NAMES} image.")


def header_size(data: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) from the image header, without decoding pixels."""
    try:
        if fmt == "png":
            if data[12:16] != b"IHDR":
                raise CorruptImageError("PNG header is missing its IHDR chunk.")
            _check_png_chunks(data)
            return struct.unpack(">II", data[16:24])
        if fmt == "webp":
            if int.from_bytes(data[4:8], "little") + 8 > len(data):
                raise CorruptImageError("The WebP is truncated.")
            return _webp_size(data)
        return _jpeg_size(data)
    except struct.error as exc:
        raise CorruptImageError("The image header is truncated.") from exc


def _check_png_chunks(data: bytes) -> None:
    """Every chunk up to IEND must fit in the data (some editors append bytes after IEND).

    libpng reads a chunk whose length runs past the end of a memory buffer a few bytes at a time,
    for seconds; a header walk of a few dozen chunks refuses it at once.
    """
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        position += 12 + length
        if position > len(data):
            break
        if kind == b"IEND":
            return
    raise CorruptImageError("The PNG is truncated (a chunk runs past the end, or no IEND).")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    size: tuple[int, int] | None = None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise CorruptImageError("The JPEG header is damaged.")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            size = (width, height)
        elif marker == 0xDA:  # start of scan: pixel data follows, and must end with EOI
            if size is None:
                break
            if data.rfind(b"\xff\xd9") < position:
                raise CorruptImageError("The JPEG is truncated (no end-of-image marker).")
            return size
        position += 2 + length
    raise CorruptImageError("The JPEG ends before its image data.")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise CorruptImageError("Unknown WebP chunk.")


def _reduction_factor(fmt: str, width: int, height: int) -> int:
    if fmt != "jpeg":
        return 1
    longest = max(width, height)
    factor = 1
    while factor < 8 and longest / (factor * 2) >= MIN_WORKING_SIDE:
        factor *= 2
    return factor


def _is_grayscale(bgr: np.ndarray) -> bool:
    sample = bgr[::8, ::8].astype(np.int16)
    blue, green, red = sample[..., 0], sample[..., 1], sample[..., 2]
    spread = np.maximum(np.maximum(blue, green), red) - np.minimum(np.minimum(blue, green), red)
    # The 99th percentile of the channel spread: a few coloured pixels (a date stamp) do not
    # make a black-and-white photo colour.
    return int(np.count_nonzero(spread > 3)) <= 0.01 * spread.size


def decode_reduced(data: bytes, fmt: str, factor: int) -> np.ndarray:
    """The photo decoded at 1/``factor`` of its size (1, 2, 4 or 8; JPEG only, other formats
    decode whole), for a closer look at a small face. ``data`` must have passed
    :func:`decode_image` already."""
    flag = _REDUCED_FLAGS.get(factor, cv2.IMREAD_COLOR) if fmt == "jpeg" else cv2.IMREAD_COLOR
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if bgr is None or bgr.size == 0:
        raise CorruptImageError("The image data is damaged or truncated.")
    return bgr


def validate(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_PIXELS
) -> ImageHeader:
    """The checks that need no decoding (size, magic bytes, header dimensions and their limits).

    Raises the same ``ColorseasonError`` that :func:`decode_image` would for these faults.
    """
    if not data:
        raise CorruptImageError("The image is empty.")
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"The image is {len(data)} bytes; the limit is {max_bytes}.")
    fmt = sniff_format(data)
    width, height = header_size(data, fmt)
    if width <= 0 or height <= 0:
        raise CorruptImageError("The image header gives no size.")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"The image is {width}x{height} pixels; the limit is {max_pixels // 1_000_000} MP."
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageTooSmallError(
            f"The image is {width}x{height} pixels: too narrow to hold a face (send a photo no "
            f"more than {MAX_ASPECT} times longer than it is wide)."
        )
    if min(width, height) < MIN_SIDE:
        raise ImageTooSmallError(
            f"The image is {width}x{height} pixels; send at least {MIN_SIDE} px on each side."
        )
    return ImageHeader(fmt, width, height)


def decode_image(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> DecodedImage:
    """Validate and decode ``data`` into the working copy, or raise a ``ColorseasonError``."""
    header = validate(data, max_bytes=max_bytes, max_pixels=max_pixels)
    fmt, width, height = header.format, header.width, header.height
    factor = _reduction_factor(fmt, width, height)
    buffer = np.frombuffer(data, np.uint8)
    bgr = cv2.imdecode(buffer, _REDUCED_FLAGS.get(factor, cv2.IMREAD_COLOR))
    if bgr is None or bgr.size == 0:
        raise CorruptImageError("The image data is damaged or truncated.")
    longest = max(bgr.shape[:2])
    if longest > MAX_WORKING_SIDE:
        shrink = MAX_WORKING_SIDE / longest
        size = (round(bgr.shape[1] * shrink), round(bgr.shape[0] * shrink))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    scale = max(bgr.shape[:2]) / max(width, height)
    return DecodedImage(bgr, fmt, width, height, scale, _is_grayscale(bgr))
