"""One person, several photos: the consensus diagnosis on real package photos and variants."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from colorseason.analysis import analyze, analyze_person, illumination, person, pipeline
from colorseason.analysis.colorspace import lab_to_linear_rgb, reexposed
from colorseason.analysis.person import MAX_PHOTOS
from colorseason.errors import BadRequestError, CorruptImageError, NoFaceError
from colorseason.testing import (
    CASTS_RGB,
    apply_cast,
    apply_exposure,
    encode,
    sample_bgr,
    sample_jpeg,
)


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_five_casts_together_answer_as_the_uncast_photo(name: str) -> None:
    """Five photos of one face, each under another cast: one diagnosis, the uncast one's."""
    bgr = sample_bgr(name)
    alone = analyze(sample_jpeg(name))
    together = analyze_person([encode(apply_cast(bgr, gains)) for gains in CASTS_RGB.values()])
    assert together["season"]["family"] == alone["season"]["family"]
    assert together["agreement"]["photos"] == 5
    assert len(together["photos"]) == 5
    assert all(photo["ok"] and not photo["different_person"] for photo in together["photos"])


def test_the_result_keeps_the_usual_shape_and_adds_the_photos() -> None:
    one = analyze(sample_jpeg("astronaut"))
    several = analyze_person([sample_jpeg("astronaut"), sample_jpeg("astronaut", quality=70)])
    assert set(one) <= set(several)
    assert set(several) - set(one) == {"photos", "agreement"}
    assert set(several["agreement"]) == {
        "photos",
        "family_share",
        "skin_lightness_spread",
        "skin_hue_spread",
    }
    photo = several["photos"][0]
    assert set(photo) == {"ok", "season", "families", "quality", "reference", "different_person"}
    assert sum(several["families"].values()) == pytest.approx(1, abs=1e-3)


def test_one_photo_alone_is_the_single_photo_answer() -> None:
    data = sample_jpeg("grace_hopper")
    alone, person = analyze(data), analyze_person([data])
    assert person["probabilities"] == alone["probabilities"]
    assert person["agreement"]["family_share"] == 1.0


def test_a_corrupt_photo_among_three_is_reported_and_left_out() -> None:
    good = sample_jpeg("astronaut")
    result = analyze_person([good, good[: len(good) // 3], sample_jpeg("astronaut", quality=60)])
    photos = result["photos"]
    assert [photo["ok"] for photo in photos] == [True, False, True]
    assert photos[1]["error"]["code"] == CorruptImageError.code
    assert result["agreement"]["photos"] == 2


def test_all_failing_is_the_usual_error() -> None:
    blank = encode(cv2.GaussianBlur(sample_bgr("astronaut"), (0, 0), 40))
    with pytest.raises(NoFaceError):
        analyze_person([blank, blank])


def test_a_face_of_plainly_other_proportions_is_flagged_and_left_out() -> None:
    """The astronaut three times, once squeezed to three quarters of her width: a face of other
    proportions than hers, as a different person's would be."""
    bgr = sample_bgr("astronaut")
    squeezed = cv2.resize(bgr, None, fx=0.75, fy=1.0, interpolation=cv2.INTER_AREA)
    result = analyze_person([sample_jpeg("astronaut"), encode(bgr, ".png"), encode(squeezed)])
    assert [photo["different_person"] for photo in result["photos"]] == [False, False, True]
    assert result["agreement"]["photos"] == 2


def test_a_bad_number_of_photos_is_refused() -> None:
    with pytest.raises(BadRequestError):
        analyze_person([])
    with pytest.raises(BadRequestError):
        analyze_person([sample_jpeg("astronaut")] * (MAX_PHOTOS + 1))
    with pytest.raises(BadRequestError):
        analyze_person([sample_jpeg("astronaut")] * 2, faces=[0])


def test_several_photos_of_one_person_count_the_skin_prior_once() -> None:
    """Two identical photos are two independent looks at the exposure but one person: their own
    evidence's precisions add and the skin prior is applied once, to the combination, so the pair
    is pulled less than each photo alone was (the photo at half its exposure, so that the pull
    shows), and is surer. Uncorrected photos have no prior to count."""
    data = encode(apply_exposure(sample_bgr("grace_hopper"), 0.5), ".png")
    evidence = pipeline.measure_photo(data)
    light = evidence.light
    assert light.own_exposure is not None
    own_log_gain, own_sd = light.own_exposure
    at_own = reexposed(evidence.measured.skin, own_log_gain - math.log(light.exposure_gain))
    pair, pair_sd = person._combined([evidence, evidence], np.ones(2))
    shift, sd = illumination.with_skin_prior(lab_to_linear_rgb(at_own), 0.0, own_sd / math.sqrt(2))
    assert pair_sd == pytest.approx(sd)
    assert pair.skin == pytest.approx(reexposed(at_own, shift), abs=1e-6)
    alone, alone_sd = person._combined([evidence], np.ones(1))
    assert alone.skin == pytest.approx(evidence.measured.skin, abs=1e-6)
    assert alone_sd == pytest.approx(light.log_exposure_sd)
    single = evidence.measured.skin[0]
    assert at_own[0] + 1 < pair.skin[0] < single and pair_sd < light.log_exposure_sd

    uncorrected = pipeline.measure_photo(data, correct_illumination=False)
    assert uncorrected.light.own_exposure is None
    _, raw_sd = person._combined([uncorrected, uncorrected], np.ones(2))
    assert raw_sd == pytest.approx(illumination.CAMERA_LOG_SD / math.sqrt(2))


def test_one_photo_with_a_clipped_exposure_combines_to_its_own_answer() -> None:
    """A white card in a photo far too dark asks for more than the card's limit; the single
    photo is clipped to it, and so must one photo alone be in the combination."""
    from dataclasses import replace

    from colorseason.analysis import references
    from colorseason.analysis.colorspace import linear_rgb_to_lab

    evidence = pipeline.measure_photo(sample_jpeg("grace_hopper"))
    skin = np.full(3, 0.01)  # linear RGB: a skin photographed very dark
    card = references.Reference("white_card", np.full(3, 0.85 * math.exp(-3.0)), 0.85, 0.05)
    exposure = illumination._combined_exposure([card], np.ones(3), skin)
    assert exposure.own is not None and exposure.own[0] > illumination.CARD_EXPOSURE_LIMIT
    assert exposure.log_gain == pytest.approx(illumination.CARD_EXPOSURE_LIMIT)
    light = replace(
        evidence.light,
        illuminant=np.ones(3),
        exposure_gain=math.exp(exposure.log_gain),
        log_exposure_sd=exposure.log_sd,
        anchors=tuple(exposure.used),
        own_exposure=exposure.own,
    )
    measured = replace(evidence.measured, skin=linear_rgb_to_lab(skin * light.exposure_gain))
    alone, _ = person._combined([replace(evidence, light=light, measured=measured)], np.ones(1))
    assert alone.skin == pytest.approx(measured.skin, abs=1e-6)
