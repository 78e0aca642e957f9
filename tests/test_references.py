"""The references that set light and exposure, and what survives a change of exposure.

Real faces come from package data (astronaut, grace_hopper); synthetic cases are built from them:
a white card pasted beside the face, and the things a card must not be mistaken for (a white
wall, a white shirt, a bright window).
"""

from __future__ import annotations

import numpy as np
import pytest

from colorseason.analysis import analyze, landmarks
from colorseason.analysis.colorspace import delta_e_2000, lab_to_linear_rgb
from colorseason.analysis.features import (
    FEATURE_NAMES,
    GAIN_INVARIANT_FEATURES,
    Measurements,
    feature_vector,
)
from colorseason.analysis.illumination import SKIN_HUE_LOCUS
from colorseason.testing import (
    CASTS_RGB,
    apply_cast,
    apply_exposure,
    embed_small,
    encode,
    paste_white_card,
    sample_bgr,
)

SAMPLES = ("astronaut", "grace_hopper")


def face_box(bgr: np.ndarray) -> tuple[float, float, float, float]:
    height, width = bgr.shape[:2]
    x0, y0, x1, y1 = landmarks.detect(bgr).boxes[0]
    return x0 * width, y0 * height, x1 * width, y1 * height


# The card's level in linear light: brighter than both studio backdrops, as paper is, yet unclipped
# at exposure ×1.2 (a real sheet, at 0.85, clips when a bright photo is over-exposed; then the
# eye whites take over, as the development-set benchmark shows).
CARD_LEVEL = 0.75
CARD_EXPOSURES = (0.6, 1.2)


# Beside the astronaut's face on the right stands a white model shuttle, as bright as the card.
CARD_SIDE = {"astronaut": "left", "grace_hopper": "right"}


def with_card(name: str) -> np.ndarray:
    """The sample with a white card beside the face."""
    bgr = sample_bgr(name)
    return paste_white_card(bgr, face_box(bgr), level=CARD_LEVEL, side=CARD_SIDE[name])


def skin(result: dict) -> np.ndarray:
    return np.array(result["measurements"]["skin"]["lab"])


@pytest.mark.parametrize("name", SAMPLES)
def test_a_white_card_is_found_and_sets_light_and_exposure(name: str) -> None:
    card = with_card(name)
    reference = analyze(encode(card, ".png"))
    assert reference["illumination"]["reference"] == "white_card"
    assert "white_card" in reference["illumination"]["exposure_anchors"]
    variants = {f"cast {cast}": apply_cast(card, gains) for cast, gains in CASTS_RGB.items()}
    variants |= {f"exposure ×{k}": apply_exposure(card, k) for k in CARD_EXPOSURES}
    for label, image in variants.items():
        result = analyze(encode(image, ".png"))
        assert result["illumination"]["reference"] == "white_card", label
        assert float(delta_e_2000(skin(result), skin(reference))) <= 2.0, label


@pytest.mark.parametrize("name", SAMPLES)
def test_no_card_is_reported_in_the_photos_as_they_are(name: str) -> None:
    assert analyze(encode(sample_bgr(name), ".png"))["illumination"]["reference"] != "white_card"


def test_a_white_wall_is_not_a_card() -> None:
    """The photo on a large white backdrop: bright, flat and neutral, but it wraps the head."""
    wall = embed_small(sample_bgr("grace_hopper"), 0.6, background=(228, 228, 228))
    assert analyze(encode(wall, ".png"))["illumination"]["reference"] != "white_card"


def test_a_white_shirt_is_not_a_card() -> None:
    """A white patch from below the chin to the bottom of the frame: cut by the frame."""
    bgr = np.array(sample_bgr("grace_hopper"))
    x0, _, x1, y1 = (int(v) for v in face_box(bgr))
    bgr[y1 + 10 :, max(0, x0 - 40) : x1 + 40] = (225, 228, 230)
    assert analyze(encode(bgr, ".png"))["illumination"]["reference"] != "white_card"


def test_a_bright_window_is_not_a_card() -> None:
    """A clipped white rectangle beside the face: it has lost its colour."""
    bgr = np.array(sample_bgr("astronaut"))
    x0, y0, x1, y1 = (int(v) for v in face_box(bgr))
    width = x1 - x0
    bgr[y0 : y1 + width // 2, x1 + width // 4 : x1 + width + width // 4] = 255
    assert analyze(encode(bgr, ".png"))["illumination"]["reference"] != "white_card"


def test_the_eye_whites_are_found_in_a_clear_face() -> None:
    result = analyze(encode(sample_bgr("astronaut"), ".png"))
    assert "eyes" in result["illumination"]["exposure_anchors"]
    assert result["illumination"]["reference"] == "eyes"


def test_sunglasses_hide_the_eye_whites() -> None:
    """Dark lenses painted over the eyes: the eye whites are no reference any more."""
    import cv2

    from colorseason.analysis import regions

    bgr = np.array(sample_bgr("astronaut"))
    points = landmarks.detect(bgr).points[:, :2]
    for eye in regions.EYES:
        centre = points[list(eye)].mean(axis=0)
        half_width = float(np.ptp(points[list(eye), 0])) * 0.8
        cv2.ellipse(
            bgr,
            (round(centre[0]), round(centre[1])),
            (round(half_width), round(half_width * 0.7)),
            0,
            0,
            360,
            (38, 40, 32),
            -1,
        )
    anchors = analyze(encode(bgr, ".png"))["illumination"]["exposure_anchors"]
    assert "eyes" not in anchors


def test_the_teeth_count_only_when_the_mouth_shows_them() -> None:
    from colorseason.analysis import references

    assert (
        references.find_teeth(np.zeros((0, 3), np.uint8), np.zeros((5, 3), np.uint8), 0.5) is None
    )
    closed = references.find_teeth(
        np.full((200, 3), 230, np.uint8), np.full((200, 3), 120, np.uint8), 0.01
    )
    assert closed is None
    white_teeth = np.tile(np.array([[200, 215, 225]], np.uint8), (200, 1))  # BGR, yellowish white
    red_lips = np.tile(np.array([[70, 80, 170]], np.uint8), (200, 1))
    shown = references.find_teeth(white_teeth, red_lips, 0.3)
    assert shown is not None and shown.name == "teeth"


def test_burnt_out_eye_whites_bound_the_exposure_from_above() -> None:
    """Eye whites with green clipped in most pixels are a floor of their brightness: a ceiling
    on the exposure, which pulls the estimate under it and leaves one far below it alone."""
    from colorseason.analysis import illumination, references

    iris = np.full((60, 3), 40, np.uint8)
    skin_colour = np.array([0.45, 0.30, 0.21])  # linear RGB
    sclera = np.tile(np.array([[120, 110, 130]], np.uint8), (100, 1))  # lids, lashes (BGR)
    sclera[:40] = (252, 255, 255)  # the whites, burnt out
    whites = references.find_eye_whites(sclera, iris, skin_colour, 0.35)
    assert whites is not None and whites.clipped
    neutral = np.ones(3)
    ceiling = whites.log_exposure(neutral)
    assert ceiling < 0  # the photo is at least this much over-exposed
    usual_skin = np.full(3, ((illumination.SKIN_LIGHTNESS + 16) / 116) ** 3)  # as exposed
    log_gain, _, used, _, _ = illumination._combined_exposure([whites], neutral, usual_skin)
    assert ceiling < log_gain < 0 and used == ["eyes"]
    # The same whites half as bright are an ordinary measurement.
    sclera[:40] = (200, 205, 205)
    measured = references.find_eye_whites(sclera, iris, skin_colour, 0.35)
    assert measured is not None and not measured.clipped
    # A ceiling far above what the other evidence says changes nothing.
    under = references.Reference("eyes", whites.rgb / 32, whites.luminance, whites.log_sd, True)
    log_gain, _, used, _, _ = illumination._combined_exposure([under], neutral, usual_skin)
    assert abs(log_gain) < 0.01 and used == []


def test_the_skin_pulls_an_implausible_lightness_part_of_the_way_back_in_order() -> None:
    """No reference, only the camera and the skin: a skin at the usual lightness is left alone,
    one far lighter or darker is pulled part of the way towards it, never past it, and a darker
    skin always reads darker. Darker skin is pulled less for the same L* away (10 L* is a wider
    span of ln luminance down there)."""
    from colorseason.analysis import illumination
    from colorseason.analysis.colorspace import linear_rgb_to_lab

    neutral = np.ones(3)

    def corrected(lightness: float) -> tuple[float, float]:
        skin = lab_to_linear_rgb(np.array([lightness, 12.0, 16.0]))
        log_gain, log_sd, used, _, _ = illumination._combined_exposure([], neutral, skin)
        assert used == [] and log_sd < illumination.CAMERA_LOG_SD
        return float(linear_rgb_to_lab(skin * np.exp(log_gain))[0]), log_gain

    usual = illumination.SKIN_LIGHTNESS
    assert corrected(usual)[0] == pytest.approx(usual, abs=0.05)
    readings = [corrected(lightness)[0] for lightness in np.arange(30.0, 96.0, 5.0)]
    assert np.all(np.diff(readings) > 0)
    light, dark = corrected(usual + 20), corrected(usual - 20)
    assert usual < light[0] < usual + 20 and usual - 20 < dark[0] < usual
    assert abs(dark[1]) < abs(light[1])
    # A skin that could not be measured changes nothing, and leaves no reading.
    assert illumination.with_skin_prior(np.full(3, np.nan), 0.1, 0.4) == (0.1, 0.4)
    unmeasured = illumination._combined_exposure([], neutral, np.full(3, np.nan))
    assert unmeasured.log_gain == 0.0 and unmeasured.readings == []


@pytest.mark.parametrize("ceiling", [-1.0, -0.2, 0.0, 0.5, 2.0])
def test_a_ceiling_cuts_the_belief_as_bayes_rule_does(ceiling: float) -> None:
    """The belief under a noisy ceiling, in closed form, against the same on a fine grid."""
    from math import erfc, sqrt

    from colorseason.analysis import illumination

    mean, var, sd = 0.1, 0.16, 0.3
    grid = np.linspace(-4, 4, 80001)
    below = np.array([0.5 * erfc((x - ceiling) / (sd * sqrt(2))) for x in grid])
    posterior = np.exp(-0.5 * (grid - mean) ** 2 / var) * below
    posterior /= posterior.sum()
    grid_mean = float(grid @ posterior)
    grid_var = float(((grid - grid_mean) ** 2) @ posterior)
    cut_mean, cut_var = illumination._below_ceiling(mean, var, ceiling, sd)
    assert cut_mean == pytest.approx(grid_mean, abs=1e-4)
    assert cut_var == pytest.approx(grid_var, abs=1e-4)
    assert cut_mean < mean and cut_var < var


def test_an_over_exposed_photo_is_darkened_by_its_burnt_out_eye_whites() -> None:
    """The astronaut at twice her exposure: her eye whites clip, yet still say that the photo
    is too bright, so the skin is measured darker than the camera rendered it."""
    over = encode(apply_exposure(sample_bgr("astronaut"), 2.0), ".png")
    corrected, as_taken = analyze(over), analyze(over, correct_illumination=False)
    assert "eyes" in corrected["illumination"]["exposure_anchors"]
    assert corrected["illumination"]["exposure_gain"] < 0.85
    assert skin(corrected)[0] < skin(as_taken)[0] - 5


def test_gain_invariant_features_do_not_change_with_exposure() -> None:
    """Hue, C*/(L*+16) and ln luminance ratios of a face, at a third and at three times the
    exposure (while L* stays above the cube-root knee)."""
    measured = Measurements(
        skin=np.array([66.0, 15.0, 19.0]),
        eyes=np.array([30.0, 4.0, 9.0]),
        hair=np.array([25.0, 3.0, 8.0]),
        lips=np.array([52.0, 26.0, 14.0]),
        hair_from_brows=False,
        cheek_lightness_gap=0.0,
        raw_skin_lightness=66.0,
        lightness_sd=0.0,
    )
    invariant = [FEATURE_NAMES.index(name) for name in sorted(GAIN_INVARIANT_FEATURES)]
    others = [i for i in range(len(FEATURE_NAMES)) if i not in invariant]
    base = feature_vector(measured)[0]
    for factor in (1 / 3, 3.0):
        moved = feature_vector(measured, exposure=factor)[0]
        np.testing.assert_allclose(moved[invariant], base[invariant], atol=1e-3)
        assert np.all(np.abs(moved[others] - base[others]) > 1)  # the rest do move
    assert float(lab_to_linear_rgb(measured.skin) @ np.ones(3)) > 0


@pytest.mark.parametrize("name", SAMPLES)
def test_a_pure_exposure_change_leaves_the_gain_invariant_evidence(name: str) -> None:
    """A real photo at 0.7 of its exposure (nothing clips when it darkens): the undertone, the
    clarity and the contrasts are the same evidence."""

    def invariant(result: dict) -> np.ndarray:
        lab = {
            part: np.array(result["measurements"][part]["lab"])
            for part in ("skin", "eyes", "hair", "lips")
        }
        measured = Measurements(lab["skin"], lab["eyes"], lab["hair"], lab["lips"], False, 0, 0, 0)
        row = feature_vector(measured)[0]
        return np.array([row[FEATURE_NAMES.index(n)] for n in sorted(GAIN_INVARIANT_FEATURES)])

    bgr = sample_bgr(name)
    before = analyze(encode(bgr, ".png"), correct_illumination=False)
    after = analyze(encode(apply_exposure(bgr, 0.7), ".png"), correct_illumination=False)
    names = sorted(GAIN_INVARIANT_FEATURES)
    # Dark irises and hair sit where 8-bit code values are coarse: their ratios wobble a little.
    tolerance = {"skin_hue": 2.0, "lip_hue": 3.0, "eye_saturation": 0.06, "hair_saturation": 0.06}
    for name_, a, b in zip(names, invariant(before), invariant(after), strict=True):
        assert abs(a - b) <= tolerance.get(name_, 0.3 if "contrast" in name_ else 0.02), name_


@pytest.mark.parametrize("name", SAMPLES)
def test_with_a_card_a_pure_exposure_change_changes_nothing(name: str) -> None:
    card = with_card(name)
    before = analyze(encode(card, ".png"))
    after = analyze(encode(apply_exposure(card, 0.7), ".png"))
    assert float(delta_e_2000(skin(after), skin(before))) <= 1.5
    assert after["season"]["family"] == before["season"]["family"]


def test_a_correction_never_takes_the_skin_out_of_the_skin_locus() -> None:
    """A strong green cast over the astronaut: the corrected skin is skin-coloured again."""
    from colorseason.analysis.colorspace import chroma_hue

    image = apply_cast(sample_bgr("astronaut"), (0.6, 1.0, 0.6))
    _, hue = chroma_hue(skin(analyze(encode(image, ".png"))))
    assert SKIN_HUE_LOCUS[0] <= hue <= SKIN_HUE_LOCUS[1]


def test_a_correction_that_overshoots_the_skin_locus_is_shortened_to_its_nearest() -> None:
    """A grey-green skin (a strong green cast) and a light estimated so far off that no share of
    the correction lands in the skin locus: the share that leaves the skin nearest it stands,
    not the whole correction, which would carry the skin as far out on the blue side."""
    from colorseason.analysis import illumination

    skin_rgb = lab_to_linear_rgb(np.array([70.0, -6.0, 4.0]))
    estimate = np.array([-0.7, -0.53])

    def distance(chroma: np.ndarray) -> float:
        return illumination._locus_distance(skin_rgb, illumination._light_from_chroma(chroma))

    kept = illumination._keep_skin_skin(skin_rgb, estimate)
    shares = [distance(estimate * share) for share in np.linspace(0, 1, 11)]
    assert min(shares) > 0  # no share of it is inside
    assert distance(kept) == pytest.approx(min(shares))
    assert distance(kept) < distance(estimate) - 5


@pytest.mark.parametrize("name", SAMPLES)
def test_darker_skin_alone_reads_deeper(name: str) -> None:
    """The skin alone made darker (eyes, hair and background as they were): deeper and a lower
    ITA°, as a darker-skinned person in the same light would be."""
    from colorseason.testing import scale_skin_lightness, skin_mask

    bgr = sample_bgr(name)
    lighter = analyze(encode(bgr, ".png"))
    darker = analyze(encode(scale_skin_lightness(bgr, skin_mask(bgr), 0.6), ".png"))
    assert darker["dimensions"]["depth"] > lighter["dimensions"]["depth"]
    assert skin(darker)[0] < skin(lighter)[0] - 3


@pytest.mark.parametrize("name", SAMPLES)
def test_a_warmer_skin_alone_reads_warmer(name: str) -> None:
    from colorseason.testing import shift_skin_hue, skin_mask

    bgr = sample_bgr(name)
    mask = skin_mask(bgr)
    warmth = [
        analyze(encode(shift_skin_hue(bgr, mask, degrees), ".png"))["dimensions"]["warmth"]
        for degrees in (-6, 0, 6)
    ]
    assert warmth[0] < warmth[1] < warmth[2]
