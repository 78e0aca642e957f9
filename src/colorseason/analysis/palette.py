"""Palettes: what each season wears well, and what to avoid.

Hand-chosen, following the seasonal method's rules for each season's hue (warm: yellow-based;
cool: blue-based), value (light seasons high L*, deep seasons low L*) and chroma (bright
seasons saturated, soft seasons greyed). ``avoid`` colours break the season's main rule (e.g.
black and icy pastels for a light spring, orange and mustard for summers). tests/test_palette
checks the lists against those rules in CIELAB, so a swatch typed wrong shows up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Palette:
    """One season's swatches as ``#rrggbb`` strings, and its metals by name."""

    best: tuple[str, ...]
    avoid: tuple[str, ...]
    lips: tuple[str, ...]
    blush: tuple[str, ...]
    hair: tuple[str, ...]
    metals: tuple[str, ...]


PALETTES: dict[str, Palette] = {
    "light-spring": Palette(
        best=(
            "#ffcba4",  # peach
            "#f88379",  # light coral
            "#ffb3a7",  # warm pink
            "#fff1b5",  # buttercream
            "#f9e27d",  # light warm yellow
            "#8fd8d2",  # light aqua
            "#a8e6cf",  # mint
            "#a7c7e7",  # light warm blue
            "#d8b48a",  # light camel
            "#fff8e7",  # ivory
        ),
        avoid=("#000000", "#36454f", "#800020", "#4b0082", "#5d3954"),
        lips=("#f4a48c", "#f08080", "#e9967a", "#ff9e8c"),
        blush=("#ffb59e", "#f7a38e"),
        hair=("#e6c48c", "#d2a56d", "#e3a66f", "#b57e4a"),
        metals=("light gold", "rose gold"),
    ),
    "true-spring": Palette(
        best=(
            "#ffd23f",  # warm yellow
            "#ff7f50",  # coral
            "#f2552c",  # poppy red
            "#fba16c",  # apricot
            "#4cbb17",  # kelly green
            "#30d5c8",  # turquoise
            "#00b5b8",  # warm aqua
            "#5a9bd5",  # warm clear blue
            "#c19a6b",  # camel
            "#fff5d6",  # cream
        ),
        avoid=("#000000", "#708090", "#9e8fb2", "#5b1e31", "#ffffff"),
        lips=("#ff7f50", "#e8603c", "#f28c74", "#d9534f"),
        blush=("#ff9966", "#f98b72"),
        hair=("#d4a259", "#c68642", "#b87333", "#a0622d"),
        metals=("gold", "brass"),
    ),
    "bright-spring": Palette(
        best=(
            "#ff4f58",  # bright warm red
            "#ff6f3c",  # hot coral
            "#ff69b4",  # warm hot pink
            "#ffe135",  # banana yellow
            "#50c878",  # emerald
            "#00a86b",  # jade
            "#00ced1",  # bright turquoise
            "#1e90ff",  # clear blue
            "#1f3a93",  # warm navy
            "#fafaf0",  # clear ivory
        ),
        avoid=("#b5a49a", "#8a9a5b", "#c3b1b8", "#5d4037", "#d8cfc4"),
        lips=("#ff4f58", "#f7665a", "#ff6f61", "#ff5e3a"),
        blush=("#ff7f7f", "#ff8c69"),
        hair=("#c68e17", "#8b4513", "#5c3a21", "#2b1b17"),
        metals=("polished gold", "rose gold"),
    ),
    "light-summer": Palette(
        best=(
            "#afc7e8",  # powder blue
            "#b0c4de",  # light steel blue
            "#7fa7c9",  # soft periwinkle blue
            "#e6e6fa",  # lavender
            "#c8a2c8",  # lilac
            "#d8bfd8",  # thistle
            "#f4c2c2",  # baby pink
            "#e7accf",  # cool rose pink
            "#9fd5d1",  # soft aqua
            "#a3c1ad",  # soft sage mint
            "#f8f8ff",  # soft white
        ),
        avoid=("#000000", "#ff8c00", "#8b4513", "#daa520", "#556b2f"),
        lips=("#e8a0b4", "#d98ba4", "#f4a6b8", "#c97b94"),
        blush=("#f3b6c4", "#e8a7be"),
        hair=("#e3dac9", "#d4c5a9", "#c2b280", "#a89f91"),
        metals=("silver", "white gold"),
    ),
    "true-summer": Palette(
        best=(
            "#5d8aa8",  # air force blue
            "#4682b4",  # steel blue
            "#3b5998",  # soft navy
            "#5f9ea0",  # cadet blue
            "#66a5ad",  # cool sea green
            "#967bb6",  # lavender purple
            "#b784a7",  # opera mauve
            "#e15d7e",  # cool watermelon
            "#de5d83",  # blush rose
            "#a0b9c8",  # grey blue
            "#f5f5f5",  # soft white
        ),
        avoid=("#ff4500", "#ffd700", "#d2691e", "#808000", "#000000"),
        lips=("#c25a7c", "#d87093", "#b3446c", "#cc6f8b"),
        blush=("#e88fa7", "#d6879e"),
        hair=("#b7a58c", "#8b7d6b", "#6f5e53", "#4b3d33"),
        metals=("silver", "platinum"),
    ),
    "soft-summer": Palette(
        best=(
            "#8c92ac",  # cool grey
            "#a3b1c2",  # dusty blue
            "#5e7b8c",  # slate blue-grey
            "#4a5568",  # grey navy
            "#7d9d9c",  # grey teal
            "#6d8b74",  # soft sage
            "#9c8aa5",  # dusty lilac
            "#8e7f8f",  # mauve grey
            "#b7848c",  # dusty rose
            "#c4aead",  # rose beige
            "#d8cbc7",  # soft taupe white
        ),
        avoid=("#ff6600", "#ffff00", "#000000", "#ff1493", "#00ff7f"),
        lips=("#b5838d", "#a05c7b", "#c08497", "#9e6b75"),
        blush=("#c9a0a8", "#b88c98"),
        hair=("#bba98f", "#9c8a78", "#7b6b5d", "#5e5048"),
        metals=("silver", "pewter", "white gold"),
    ),
    "soft-autumn": Palette(
        best=(
            "#c9a77c",  # camel
            "#d4b483",  # soft gold
            "#e6d3b3",  # oatmeal
            "#d8a48f",  # soft peach
            "#cc8b65",  # soft terracotta
            "#bc8f8f",  # rosy brown
            "#a67b5b",  # café au lait
            "#9caf88",  # sage
            "#8a9a5b",  # moss
            "#6b8e86",  # muted teal
        ),
        avoid=("#000000", "#ff00ff", "#0000ff", "#ffffff", "#00bfff"),
        lips=("#b66a50", "#c48b7c", "#d2876f", "#a45a52"),
        blush=("#d8a08a", "#c98b74"),
        hair=("#c19a6b", "#a67b5b", "#8b6b4a", "#7a5c3e"),
        metals=("brushed gold", "bronze"),
    ),
    "true-autumn": Palette(
        best=(
            "#cc5500",  # burnt orange
            "#b7410e",  # rust
            "#e1ad01",  # mustard
            "#a0522d",  # sienna
            "#8b4513",  # saddle brown
            "#c19a6b",  # camel
            "#808000",  # olive
            "#6b8e23",  # olive drab
            "#556b2f",  # dark olive
            "#008080",  # teal
            "#f5deb3",  # wheat
        ),
        avoid=("#ff69b4", "#e6e6fa", "#000000", "#b0c4de", "#ffffff"),
        lips=("#b7410e", "#a0522d", "#c65d3b", "#8b3a2b"),
        blush=("#cd7f5c", "#c46c4d"),
        hair=("#b55a30", "#a0522d", "#8b4513", "#6f4e37"),
        metals=("gold", "brass", "copper"),
    ),
    "deep-autumn": Palette(
        best=(
            "#7b3f00",  # chocolate
            "#5c4033",  # dark brown
            "#722f37",  # wine
            "#8b0000",  # dark red
            "#9a463d",  # brick
            "#cc5500",  # burnt orange
            "#b8860b",  # dark goldenrod
            "#556b2f",  # dark olive
            "#014421",  # forest green
            "#00555a",  # dark teal
            "#e1c699",  # warm cream
        ),
        avoid=("#ffb6c1", "#e6e6fa", "#add8e6", "#c0c0c0", "#fffacd"),
        lips=("#8b3a3a", "#993333", "#a0522d", "#6e2c2c"),
        blush=("#b5654a", "#9e5a4a"),
        hair=("#5c4033", "#4a2c2a", "#3b2417", "#2b1d14"),
        metals=("antique gold", "bronze", "copper"),
    ),
    "deep-winter": Palette(
        best=(
            "#000000",  # black
            "#ffffff",  # pure white
            "#36454f",  # charcoal
            "#1c2841",  # navy
            "#0f52ba",  # sapphire
            "#2c1e5a",  # dark purple
            "#800020",  # burgundy
            "#dc143c",  # crimson
            "#c71585",  # medium violet red
            "#046307",  # deep emerald
            "#00827f",  # deep teal
        ),
        avoid=("#f5deb3", "#ffdab9", "#daa520", "#c19a6b", "#ffa07a"),
        lips=("#800020", "#8a0f3c", "#6d071a", "#b03060"),
        blush=("#c04b6d", "#a83d5a"),
        hair=("#0b0b0b", "#1c1c2b", "#2c1b18", "#3b2f2f"),
        metals=("silver", "platinum", "gunmetal"),
    ),
    "true-winter": Palette(
        best=(
            "#000000",  # black
            "#ffffff",  # pure white
            "#000080",  # navy
            "#0047ab",  # cobalt
            "#7851a9",  # royal purple
            "#e0218a",  # cool fuchsia
            "#d2042d",  # cool red
            "#009473",  # cool emerald
            "#808080",  # cool grey
            "#dde6ed",  # icy blue
        ),
        avoid=("#ff8c00", "#c19a6b", "#808000", "#d2b48c", "#f5deb3"),
        lips=("#d2042d", "#c21e56", "#a50b5e", "#e0115f"),
        blush=("#c8507a", "#e26d8a"),
        hair=("#0a0a0a", "#1a1110", "#3a2e2b", "#a9a9a9"),
        metals=("silver", "platinum", "white gold"),
    ),
    "bright-winter": Palette(
        best=(
            "#000000",  # black
            "#ffffff",  # pure white
            "#ff007f",  # bright rose
            "#ff0038",  # scarlet
            "#8a2be2",  # blue violet
            "#4169e1",  # royal blue
            "#0066ff",  # true blue
            "#009b77",  # emerald
            "#40e0d0",  # turquoise
            "#fff44f",  # lemon
            "#e0e6f8",  # icy blue
        ),
        avoid=("#c19a6b", "#a67b5b", "#8a9a5b", "#bc8f8f", "#d8cfc4"),
        lips=("#ff007f", "#de3163", "#c71585", "#e0115f"),
        blush=("#f75394", "#e75480"),
        hair=("#0a0a0a", "#1c1c1c", "#2b1b17"),
        metals=("silver", "platinum"),
    ),
}


def palette_for(season_id: str) -> dict[str, list[str]]:
    """The result JSON's ``palette`` for a season id (a fresh dict: callers may change it).

    Raises ``KeyError`` for an unknown id: ids come from the model, so that is a bug.
    """
    palette = PALETTES[season_id]
    return {
        "best": list(palette.best),
        "avoid": list(palette.avoid),
        "lips": list(palette.lips),
        "blush": list(palette.blush),
        "hair": list(palette.hair),
        "metals": list(palette.metals),
    }
