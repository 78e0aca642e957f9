"""The 8-bit look-ups every measurement starts from: the same values as the sRGB formula, for
pixels of any shape and memory layout."""

from __future__ import annotations

import numpy as np
import pytest

from colorseason.analysis.colorspace import (
    LOG_SRGB8,
    bgr8_to_linear_rgb,
    lookup,
    srgb_to_linear,
)

RANDOM = np.random.default_rng(7)


@pytest.mark.parametrize("shape", [(0, 3), (1, 3), (3,), (257, 3), (31, 47, 3)])
def test_bgr8_to_linear_rgb_is_the_srgb_formula_in_rgb_order(shape: tuple[int, ...]) -> None:
    bgr = RANDOM.integers(0, 256, shape, dtype=np.uint8)
    rgb = bgr8_to_linear_rgb(bgr)
    assert rgb.shape == shape
    assert rgb.dtype == np.float32
    expected = srgb_to_linear(bgr[..., ::-1] / 255.0)
    np.testing.assert_allclose(rgb, expected, rtol=1e-6, atol=1e-7)


def test_bgr8_to_linear_rgb_reads_a_strided_view_as_its_values() -> None:
    image = RANDOM.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    view = image[::3, 5:-5]
    np.testing.assert_array_equal(bgr8_to_linear_rgb(view), bgr8_to_linear_rgb(view.copy()))
    # The channels are swapped, not the pixels.
    assert bgr8_to_linear_rgb(view)[2, 4, 0] == bgr8_to_linear_rgb(view[2, 4])[0]


def test_lookup_is_indexing() -> None:
    codes = RANDOM.integers(0, 256, (19, 23, 3), dtype=np.uint8)
    np.testing.assert_array_equal(lookup(codes, LOG_SRGB8), LOG_SRGB8[codes])
    np.testing.assert_array_equal(lookup(codes[:, :, 1], LOG_SRGB8), LOG_SRGB8[codes[:, :, 1]])
