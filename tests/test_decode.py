"""Decode and validate: every bad-input error code, header-only size checks, EXIF orientation."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest

from colorseason.analysis.decode import (
    ImageHeader,
    decode_image,
    header_size,
    sniff_format,
    validate,
)
from colorseason.errors import (
    CorruptImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnsupportedMediaTypeError,
)
from colorseason.testing import encode, sample_bgr, sample_jpeg


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: its IDAT is a few bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert an APP1 Exif segment with one Orientation tag after SOI."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHII", 0x0112, 3, 1, orientation) + struct.pack("<I", 0)
    body = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


@pytest.mark.parametrize("fmt", [".jpg", ".png", ".webp"])
def test_decodes_every_supported_format(fmt: str) -> None:
    image = decode_image(encode(sample_bgr("astronaut"), fmt))
    assert image.bgr.shape == (512, 512, 3)
    assert image.format == {".jpg": "jpeg", ".png": "png", ".webp": "webp"}[fmt]
    assert not image.grayscale


def test_large_jpeg_is_decoded_reduced_and_bounded() -> None:
    image = decode_image(sample_jpeg("grace_hopper", megapixels=12))
    assert max(image.bgr.shape[:2]) <= 1280
    assert max(image.bgr.shape[:2]) >= 640
    assert image.scale < 0.5


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world, not an image", b"GIF89a" + b"\x00" * 100, b"%PDF-1.7 ..."],
)
def test_non_images_are_refused_by_magic_bytes(data: bytes) -> None:
    with pytest.raises((UnsupportedMediaTypeError, CorruptImageError)) as caught:
        decode_image(data)
    assert caught.value.code in {"unsupported_media_type", "corrupt_image"}


def test_heic_gets_an_actionable_message() -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="HEIC"):
        sniff_format(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 32)


@pytest.mark.parametrize("fmt", [".jpg", ".png", ".webp"])
@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_images_are_corrupt(fmt: str, keep: float) -> None:
    data = encode(sample_bgr("astronaut"), fmt)
    with pytest.raises(CorruptImageError):
        decode_image(data[: int(len(data) * keep)])


def test_decompression_bomb_is_refused_from_the_header() -> None:
    bomb = png_bomb(60_000, 60_000)
    assert len(bomb) < 200
    assert header_size(bomb, "png") == (60_000, 60_000)
    with pytest.raises(ImageTooLargeError, match="pixels"):
        decode_image(bomb)


def test_byte_limit() -> None:
    with pytest.raises(ImageTooLargeError):
        decode_image(sample_jpeg(), max_bytes=1000)


@pytest.mark.parametrize("shape", [(64, 625_000, 3), (625_000, 64, 3), (100, 1000, 3)])
def test_strips_are_refused_before_decoding(shape: tuple[int, int, int]) -> None:
    strip = png_bomb(shape[1], shape[0])
    with pytest.raises(ImageTooSmallError, match="narrow"):
        decode_image(strip)


def test_png_with_data_after_iend_decodes() -> None:
    """Some editors append bytes after IEND: the photo decodes as if they were not there."""
    original = sample_bgr("astronaut")
    image = decode_image(encode(original, ".png") + b"\x00" * 100)
    assert (image.format, image.width, image.height, image.scale) == ("png", 512, 512, 1.0)
    assert np.array_equal(image.bgr, original)  # PNG is lossless: every pixel as it was


def test_tiny_images_are_too_small() -> None:
    with pytest.raises(ImageTooSmallError):
        decode_image(encode(np.zeros((32, 48, 3), np.uint8), ".png"))


def test_grayscale_photo_is_flagged_not_refused() -> None:
    gray = cv2.cvtColor(sample_bgr("grace_hopper"), cv2.COLOR_BGR2GRAY)
    image = decode_image(encode(gray))
    assert image.grayscale
    assert image.bgr.ndim == 3


def test_exif_orientation_is_applied() -> None:
    landscape = np.zeros((200, 400, 3), np.uint8)
    landscape[:, :200] = 255  # left half white
    rotated = decode_image(with_exif_orientation(encode(landscape), 6))  # 90° clockwise
    assert rotated.bgr.shape[:2] == (400, 200)
    top, bottom = rotated.bgr[:200].mean(), rotated.bgr[200:].mean()
    assert top > 200 > 50 > bottom  # the white left half is now on top


def test_validate_reads_the_header_alone() -> None:
    assert validate(encode(sample_bgr("astronaut"), ".webp")) == ImageHeader("webp", 512, 512)
    with pytest.raises(ImageTooLargeError):
        validate(png_bomb(20_000, 20_000))


def test_validate_needs_neither_mediapipe_nor_onnxruntime() -> None:
    """analyze's POST /jobs checks every upload with it: it must stay cheap to import."""
    code = (
        "import sys\n"
        "from colorseason.analysis.decode import validate\n"
        "from colorseason.testing import sample_jpeg\n"
        "validate(sample_jpeg())\n"
        "print(sorted({'mediapipe', 'onnxruntime', 'matplotlib.pyplot'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_png_whose_chunk_runs_past_the_end_is_refused_from_the_header() -> None:
    """libpng would spend seconds reading such a chunk from memory before giving up."""
    png = bytearray(encode(sample_bgr("astronaut"), ".png"))
    png[33:37] = struct.pack(">I", 0xB869C408)  # the first chunk after IHDR claims ~3 GB
    with pytest.raises(CorruptImageError, match="truncated"):
        validate(bytes(png))
