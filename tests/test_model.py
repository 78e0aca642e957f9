"""The season model: the committed graph is the documented one, and it answers like colour science.

Faces are described by their CIELAB measurements and turned into features by the pipeline's own
``feature_vector``, so these tests speak the same units as a photo would.
"""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

import numpy as np
import onnx
import pytest

from colorseason.analysis import model
from colorseason.analysis.features import FEATURE_NAMES, Measurements, feature_vector
from colorseason.analysis.seasons import FAMILIES, SEASON_IDS, SEASONS

BUILDER = Path(__file__).resolve().parents[1] / "tools" / "build_season_model.py"
WARM = np.array([season.family in ("spring", "autumn") for season in SEASONS])


@pytest.fixture(scope="module")
def builder():
    spec = importlib.util.spec_from_file_location("build_season_model", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed_bytes() -> bytes:
    return resources.files("colorseason.analysis").joinpath("models", model.MODEL_FILE).read_bytes()


def face(
    skin: tuple[float, float, float],
    hair: tuple[float, float, float] = (20, 2, 3),
    eyes: tuple[float, float, float] = (30, 4, 8),
    lips: tuple[float, float, float] = (50, 20, 11),
) -> np.ndarray:
    """Feature row of a face with these CIELAB colours (defaults: dark hair and eyes)."""
    measured = Measurements(
        skin=np.array(skin, float),
        eyes=np.array(eyes, float),
        hair=np.array(hair, float),
        lips=np.array(lips, float),
        hair_from_brows=False,
        cheek_lightness_gap=0.0,
        raw_skin_lightness=skin[0],
        lightness_sd=0.0,
    )
    return feature_vector(measured)[0]


def families(probabilities: np.ndarray) -> dict[str, float]:
    return {
        family: float(
            sum(p for s, p in zip(SEASONS, probabilities, strict=True) if s.family == family)
        )
        for family in FAMILIES
    }


def test_committed_model_is_a_fresh_build(builder) -> None:
    assert builder.build_model().SerializeToString() == committed_bytes()


def test_committed_model_passes_the_checker() -> None:
    proto = onnx.load_from_string(committed_bytes())
    onnx.checker.check_model(proto, full_check=True)
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert metadata["version"] == model.MODEL_VERSION
    assert metadata["features"].split(",") == list(FEATURE_NAMES)
    assert metadata["seasons"].split(",") == list(SEASON_IDS)
    assert proto.producer_name == "colorseason"


def test_outputs_are_probabilities_and_bounded_dimensions() -> None:
    rng = np.random.default_rng(7)
    reference = face((64.5, 16.7, 17.5))
    # Plausible faces and absurd ones (measurement failures) alike.
    batch = np.concatenate(
        [
            reference + rng.normal(0, 1, (200, len(FEATURE_NAMES))) * np.abs(reference) * 0.3,
            rng.uniform(-500, 500, (50, len(FEATURE_NAMES))),
        ]
    ).astype(np.float32)
    probabilities, dimensions = model.predict(batch)
    assert probabilities.shape == (250, len(SEASON_IDS))
    assert dimensions.shape == (250, len(model.DIMENSIONS))
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(np.abs(dimensions) <= 1)


def test_one_vector_gives_unbatched_outputs() -> None:
    probabilities, dimensions = model.predict(face((64.5, 16.7, 17.5)))
    assert probabilities.shape == (len(SEASON_IDS),)
    assert dimensions.shape == (len(model.DIMENSIONS),)
    with pytest.raises(ValueError):
        model.predict(np.zeros(len(FEATURE_NAMES) - 1, np.float32))


def test_hue_angles_wrap_around() -> None:
    """A cool pink lip measured at 358° is 2° below 0°, the same as -2°."""
    row = face((64.5, 16.7, 17.5), lips=(50, 20, -0.7))
    hue = FEATURE_NAMES.index("lip_hue")
    assert row[hue] > 350
    wrapped = row.copy()
    wrapped[hue] -= 360
    for left, right in zip(model.predict(row), model.predict(wrapped), strict=True):
        np.testing.assert_allclose(left, right, atol=1e-5)


def test_each_prototype_is_its_own_season(builder) -> None:
    """Features whose dimensions equal a season's prototype are classified as that season."""
    centre, scale = builder.feature_centre_scale()
    weights = builder.dimension_matrix()
    prototypes = builder.prototype_matrix()
    standardised = np.arctanh(prototypes) @ np.linalg.pinv(weights)
    probabilities, dimensions = model.predict((centre + standardised * scale).astype(np.float32))
    np.testing.assert_allclose(dimensions, prototypes, atol=1e-4)
    assert list(np.argmax(probabilities, axis=1)) == list(range(len(SEASON_IDS)))


def test_reference_face_is_neutral_and_uncertain(builder) -> None:
    """The typical photographed face the model is centred on sits in the middle: no claim."""
    centre, _ = builder.feature_centre_scale()
    probabilities, dimensions = model.predict(centre)
    np.testing.assert_allclose(dimensions, 0, atol=1e-5)
    assert model.undertone(float(dimensions[0])) == "neutral"
    assert probabilities.max() < 0.3
    assert SEASON_IDS[int(np.argmax(probabilities))] in ("soft-summer", "soft-autumn")


def test_the_reference_face_is_a_face(builder) -> None:
    """Its colours are those of a photographed face: the features of the skin, hair, eyes and
    lips that the centre describes come back as the centre."""
    reference = builder.REFERENCE_FACE
    saturation, hue = reference["skin_saturation"], np.radians(reference["skin_hue"])
    chroma = saturation * (reference["skin_L"] + 16)
    row = face((reference["skin_L"], chroma * np.cos(hue), chroma * np.sin(hue)))
    for name in ("skin_L", "skin_hue", "skin_saturation"):
        assert row[FEATURE_NAMES.index(name)] == pytest.approx(reference[name], abs=0.05)
    assert row[FEATURE_NAMES.index("skin_ita")] == pytest.approx(reference["skin_ita"], abs=3)


def test_fair_pink_skin_with_light_hair_is_summer() -> None:
    probabilities, dimensions = model.predict(
        face((72, 20, 11), hair=(52, 4, 10), eyes=(45, -2, -6), lips=(58, 30, 6))
    )
    assert max(families(probabilities), key=families(probabilities).get) == "summer"
    assert dimensions[0] < 0 and dimensions[1] < 0
    assert model.undertone(float(dimensions[0])) == "cool"


def test_golden_skin_is_spring_or_autumn() -> None:
    probabilities, dimensions = model.predict(
        face((64, 12, 27), hair=(30, 8, 14), eyes=(30, 7, 14), lips=(52, 28, 18))
    )
    warm = families(probabilities)
    assert warm["spring"] + warm["autumn"] > 0.9
    assert model.undertone(float(dimensions[0])) == "warm"
    assert probabilities.max() < 0.8  # evidence from one photo: no near-certainty


def test_warmer_skin_raises_the_warm_families() -> None:
    """Turning the skin's hue from pink (30°) to golden (62°) at the same chroma."""
    hues = np.radians(np.linspace(30, 62, 9))
    skins = [(64.5, 24 * np.cos(hue), 24 * np.sin(hue)) for hue in hues]
    probabilities, dimensions = model.predict(np.stack([face(skin) for skin in skins]))
    warm = probabilities[:, WARM].sum(axis=1)
    assert np.all(np.diff(warm) > 0)
    assert np.all(np.diff(dimensions[:, 0]) > 0)
    assert warm[0] < 0.2 < 0.8 < warm[-1]


def test_darker_hair_and_eyes_raise_depth() -> None:
    lightness = np.linspace(60, 12, 9)
    rows = [face((64.5, 16.7, 17.5), hair=(value, 3, 5), eyes=(value, 4, 8)) for value in lightness]
    _, dimensions = model.predict(np.stack(rows))
    assert np.all(np.diff(dimensions[:, 1]) > 0)


def test_undertone_bands() -> None:
    assert model.undertone(0.9) == "warm"
    assert model.undertone(-0.9) == "cool"
    assert model.undertone(0.0) == "neutral"
    assert model.undertone(model.NEUTRAL_WARMTH) == "warm"


def test_seasons_have_stable_unique_ids_and_names() -> None:
    assert SEASON_IDS == (
        "light-spring",
        "true-spring",
        "bright-spring",
        "light-summer",
        "true-summer",
        "soft-summer",
        "soft-autumn",
        "true-autumn",
        "deep-autumn",
        "deep-winter",
        "true-winter",
        "bright-winter",
    )
    assert len({s.name_en for s in SEASONS}) == len({s.name_ko for s in SEASONS}) == 12
    assert {s.family for s in SEASONS} == set(FAMILIES)
    for season in SEASONS:
        assert season.id.endswith(season.family)
        assert season.to_dict() == {
            "id": season.id,
            "family": season.family,
            "name": {"en": season.name_en, "ko": season.name_ko},
        }


def test_the_family_is_decided_by_its_total_and_the_season_within_it() -> None:
    """One season of a family may top the twelve while its family is, in all, less likely: the
    result names the likelier family, its best season, and that family's total as confidence."""
    from colorseason.analysis.pipeline import diagnosis

    probabilities = np.zeros(len(SEASONS))
    top_spring = next(s for s in SEASONS if s.family == "spring")
    autumn = [s for s in SEASONS if s.family == "autumn"]
    for season, p in ((top_spring, 0.40), (autumn[0], 0.30), (autumn[1], 0.30)):
        probabilities[SEASONS.index(season)] = p
    colours = [np.array(lab, float) for lab in ((60, 15, 18), (30, 4, 8), (25, 3, 8), (50, 20, 11))]
    measured = Measurements(*colours, False, 0.0, 60.0, 3.0)
    result = diagnosis(probabilities, np.zeros(4), measured, [])
    assert result["season"]["id"] == autumn[0].id and result["season"]["family"] == "autumn"
    assert result["second_season"]["id"] == top_spring.id
    assert result["confidence"] == pytest.approx(0.6)
