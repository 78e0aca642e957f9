"""Palettes: well-formed, and consistent with each season's hue, value and chroma in CIELAB."""

from __future__ import annotations

import re

import numpy as np
import pytest

from colorseason.analysis.colorspace import chroma_hue, linear_rgb_to_lab, srgb_to_linear
from colorseason.analysis.palette import palette_for
from colorseason.analysis.seasons import SEASON_IDS, SEASONS_BY_ID

HEX = re.compile(r"^#[0-9a-f]{6}$")
SIZES = {"best": (8, 12), "avoid": (4, 6), "lips": (3, 4), "blush": (2, 3), "hair": (3, 4)}


def lab(hex_colour: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return linear_rgb_to_lab(srgb_to_linear(srgb))


def mean_lightness(season_id: str, key: str) -> float:
    return float(np.mean([lab(c)[0] for c in palette_for(season_id)[key]]))


def median_chroma(season_id: str, key: str) -> float:
    return float(np.median([chroma_hue(lab(c))[0] for c in palette_for(season_id)[key]]))


def mean_hue(season_id: str, key: str) -> float:
    """Mean hue angle in (-180, 180]: pinks just below 0° must not count as 359°."""
    hues = [chroma_hue(lab(c))[1] for c in palette_for(season_id)[key]]
    return float(np.mean([(hue + 180) % 360 - 180 for hue in hues]))


@pytest.mark.parametrize("season_id", SEASON_IDS)
def test_palette_is_well_formed(season_id: str) -> None:
    palette = palette_for(season_id)
    assert set(palette) == {*SIZES, "metals"}
    for key, (low, high) in SIZES.items():
        colours = palette[key]
        assert low <= len(colours) <= high, key
        assert all(HEX.match(colour) for colour in colours), colours
        assert len(set(colours)) == len(colours), key
    assert not set(palette["best"]) & set(palette["avoid"])
    assert palette["metals"] and all(isinstance(m, str) and m for m in palette["metals"])


def test_palette_for_returns_a_fresh_copy() -> None:
    palette_for("true-winter")["best"].clear()
    assert palette_for("true-winter")["best"]


@pytest.mark.parametrize("light", ["light-spring", "light-summer"])
@pytest.mark.parametrize("deep", ["deep-autumn", "deep-winter"])
def test_light_seasons_are_lighter_than_deep_ones(light: str, deep: str) -> None:
    assert mean_lightness(light, "best") > mean_lightness(deep, "best") + 20
    assert mean_lightness(light, "hair") > mean_lightness(deep, "hair") + 20


@pytest.mark.parametrize(
    ("bright", "soft"),
    [("bright-spring", "soft-autumn"), ("bright-winter", "soft-summer")],
)
def test_bright_seasons_are_more_saturated_than_soft_ones(bright: str, soft: str) -> None:
    assert median_chroma(bright, "best") > 2 * median_chroma(soft, "best")


def test_warm_seasons_wear_warmer_lips_and_blush() -> None:
    warm = [s for s in SEASON_IDS if SEASONS_BY_ID[s].family in ("spring", "autumn")]
    cool = [s for s in SEASON_IDS if SEASONS_BY_ID[s].family in ("summer", "winter")]
    for key in ("lips", "blush"):
        assert min(mean_hue(s, key) for s in warm) > max(mean_hue(s, key) for s in cool), key
