"""The pipeline on real faces (package data) and their degraded variants."""

from __future__ import annotations

import numpy as np
import pytest

from colorseason.analysis import MODEL_VERSION, analyze
from colorseason.analysis.seasons import FAMILIES, SEASON_IDS, SEASONS
from colorseason.errors import FaceNotFoundError, FaceTooSmallError, NoFaceError
from colorseason.testing import (
    CASTS_RGB,
    apply_cast,
    degraded_variants,
    downscale,
    embed_small,
    encode,
    group_bgr,
    sample_bgr,
    sample_jpeg,
    two_faces_jpeg,
)

SAMPLES = ("astronaut", "grace_hopper")


@pytest.fixture(scope="module", params=SAMPLES)
def sample(request: pytest.FixtureRequest) -> tuple[str, dict]:
    return request.param, analyze(sample_jpeg(request.param))


def test_result_shape(sample: tuple[str, dict]) -> None:
    _, result = sample
    assert result["season"]["id"] in SEASON_IDS
    assert result["season"]["family"] in FAMILIES
    assert set(result["season"]["name"]) == {"en", "ko"}
    assert result["second_season"]["id"] != result["season"]["id"]
    assert list(result["probabilities"]) == list(SEASON_IDS)
    assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert sum(result["families"].values()) == pytest.approx(1, abs=1e-3)
    # The likeliest family by its total, and its likeliest season.
    families, probabilities = result["families"], result["probabilities"]
    assert result["season"]["family"] == max(families, key=families.get)
    family_seasons = [s for s in SEASONS if s.family == result["season"]["family"]]
    assert result["season"]["id"] == max((s.id for s in family_seasons), key=probabilities.get)
    assert result["undertone"] in {"warm", "cool", "neutral"}
    assert set(result["dimensions"]) == {"warmth", "depth", "clarity", "contrast"}
    assert all(-1 <= value <= 1 for value in result["dimensions"].values())
    for part in ("skin", "eyes", "hair", "lips"):
        colour = result["measurements"][part]
        assert len(colour["lab"]) == 3
        assert colour["hex"].startswith("#") and len(colour["hex"]) == 7
    assert {"best", "avoid", "lips", "blush", "hair", "metals"} <= set(result["palette"])
    assert 0 <= result["quality"]["score"] <= 1
    assert 0 <= result["confidence"] <= result["quality"]["score"]
    assert result["faces"]["count"] == 1
    assert result["model"]["version"] == MODEL_VERSION
    assert result["timings_ms"]["total"] > 0


def test_skin_is_measured_as_skin(sample: tuple[str, dict]) -> None:
    lightness, a, b = sample[1]["measurements"]["skin"]["lab"]
    assert 35 < lightness < 85
    assert 0 < a < 25 and 5 < b < 35  # skin sits in the red-yellow quadrant


def chromaticity_error(lab: list[float], reference: list[float]) -> float:
    """How far two colours' chromaticities lie apart, in a*/b* units at the reference's
    lightness: a cast's colour without the exposure change that comes with it."""
    scale = (reference[0] + 16) / (lab[0] + 16)
    return float(np.hypot(lab[1] * scale - reference[1], lab[2] * scale - reference[2]))


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("cast", sorted(CASTS_RGB))
def test_the_colour_of_a_cast_is_undone(name: str, cast: str) -> None:
    """The casts dim the light too (a tungsten cast keeps 74 % of the luminance); only a
    reference undoes that part, so this checks the chromaticity."""
    original = analyze(sample_jpeg(name))["measurements"]["skin"]["lab"]
    image = apply_cast(sample_bgr(name), CASTS_RGB[cast])
    corrected = analyze(encode(image))["measurements"]["skin"]["lab"]
    uncorrected = analyze(encode(image), correct_illumination=False)["measurements"]["skin"]["lab"]
    error = chromaticity_error(corrected, original)
    assert error < 3.0
    assert error < chromaticity_error(uncorrected, original)


# The photo's share of the frame width that leaves its face at about 10 % of the frame (the
# astronaut's face spans 18 % of her photo, Grace Hopper's 36 %): well under the 30 % required.
@pytest.mark.parametrize(("name", "photo_fraction"), [("astronaut", 0.5), ("grace_hopper", 0.3)])
def test_face_small_in_a_large_frame_is_found(name: str, photo_fraction: float) -> None:
    result = analyze(encode(embed_small(sample_bgr(name), photo_fraction)))
    assert result["faces"]["count"] == 1


def test_no_face() -> None:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    with pytest.raises(NoFaceError):
        analyze(encode(noise))


def test_face_too_small() -> None:
    tiny = embed_small(downscale(sample_bgr("grace_hopper"), 0.08), 0.5)  # a face ~16 px wide
    with pytest.raises(FaceTooSmallError):
        analyze(encode(tiny))


def test_small_face_is_analysed_with_a_penalty() -> None:
    result = analyze(encode(downscale(sample_bgr("astronaut"), 0.25)))  # a face ~23 px wide
    issues = {issue["code"] for issue in result["quality"]["issues"]}
    assert "face_too_small" in issues
    assert result["quality"]["score"] <= 0.5


@pytest.mark.parametrize(("columns", "rows", "at_least"), [(4, 1, 4), (4, 2, 7)])
def test_the_faces_of_a_group_photo_are_found(columns: int, rows: int, at_least: int) -> None:
    """Faces a tenth of the frame wide: the full-range detector alone, which sees the photo at
    192 px, found 2 of 4 in a row and 3 of 8 in two rows; with its corner tiles, 4 and 7 (an
    inner face of the grid is cut by every tile). Nothing that is not a face is counted."""
    faces = analyze(encode(group_bgr(columns, rows)))["faces"]
    assert at_least <= faces["count"] <= columns * rows


def test_two_faces_analyse_the_largest_or_the_one_asked_for() -> None:
    photo = two_faces_jpeg()
    result = analyze(photo)
    faces = result["faces"]
    assert faces["count"] == len(faces["boxes"]) == 2 and faces["analysed"] == 0
    (left, *_), (right, *_) = faces["boxes"]
    assert left < right  # numbered left to right; the larger face is on the left
    assert "multiple_faces" in {issue["code"] for issue in result["quality"]["issues"]}
    chosen = analyze(photo, face=1)
    assert chosen["faces"] == {**faces, "analysed": 1}
    assert chosen["measurements"]["skin"] != result["measurements"]["skin"]
    with pytest.raises(FaceNotFoundError):
        analyze(photo, face=2)


def test_grayscale_is_analysed_with_a_quality_issue() -> None:
    import cv2

    gray = cv2.cvtColor(sample_bgr("grace_hopper"), cv2.COLOR_BGR2GRAY)
    result = analyze(encode(gray))
    codes = {issue["code"] for issue in result["quality"]["issues"]}
    assert "grayscale_photo" in codes
    assert result["confidence"] < 0.3


@pytest.mark.parametrize("name", SAMPLES)
def test_family_survives_compression_and_downscaling(name: str) -> None:
    original = analyze(sample_jpeg(name))
    jpeg = [image for kind, _, image in degraded_variants(sample_bgr(name)) if kind == "jpeg"]
    for label, image in (("JPEG q35", jpeg[0]), ("half size", downscale(sample_bgr(name), 0.5))):
        assert analyze(encode(image))["season"]["family"] == original["season"]["family"], label


@pytest.mark.parametrize("name", SAMPLES)
def test_a_tiny_face_may_change_its_answer_only_with_low_confidence(name: str) -> None:
    """At a quarter size the face is some 20-40 px wide: its eye whites are gone, and with
    them the exposure reference. A changed family must come with a confidence that says so."""
    original = analyze(sample_jpeg(name))
    tiny = analyze(encode(downscale(sample_bgr(name), 0.25)))
    if tiny["season"]["family"] != original["season"]["family"]:
        assert tiny["confidence"] <= original["confidence"] / 2


@pytest.mark.parametrize("name", SAMPLES)
def test_a_depth_that_moves_with_exposure_says_it_is_unsure(name: str) -> None:
    """Without a white card, exposure ×0.6 and ×1.4 can move skin lightness (a camera's exposure
    cannot be told from the skin's own lightness): the result must own up to it."""
    original = analyze(sample_jpeg(name))["measurements"]["skin"]
    for kind, label, image in degraded_variants(sample_bgr(name)):
        if kind != "exposure":
            continue
        skin = analyze(encode(image))["measurements"]["skin"]
        assert abs(skin["lab"][0] - original["lab"][0]) <= 3 * skin["lightness_sd"], label


def test_a_white_hat_over_the_hairline_is_not_taken_for_hair() -> None:
    """A white brim where the hair band is (the hair hidden, as by a Santa hat): lighter than any
    hair, so the brows stand in for the hair and the result says the hair was not visible. Light
    grey hair there (white hair's shaded grey) is still hair."""
    from colorseason.analysis import landmarks

    def with_band(level: int) -> dict:
        bgr = sample_bgr("astronaut").copy()
        top = int(landmarks.detect(bgr).points[10][1])  # the top of the forehead
        bgr[: max(top - 2, 0)] = (level, level, level)
        return analyze(encode(bgr, ".png"))

    def hidden(result: dict) -> bool:
        return "hair_not_visible" in {issue["code"] for issue in result["quality"]["issues"]}

    hatted, grey = with_band(240), with_band(190)
    assert hidden(hatted) and hatted["measurements"]["hair"]["lab"][0] < 60
    assert not hidden(grey) and grey["measurements"]["hair"]["lab"][0] > 60
    assert not hidden(analyze(encode(sample_bgr("astronaut"), ".png")))
