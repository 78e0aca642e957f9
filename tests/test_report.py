"""The HTML report: complete, self-contained, escaped, in both languages."""

from __future__ import annotations

import base64
import copy
import re
from typing import Any

import pytest

from colorseason.analysis import MODEL_VERSION, analyze
from colorseason.analysis.seasons import SEASONS
from colorseason.report import render_html
from colorseason.testing import sample_jpeg, two_faces_jpeg


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return analyze(sample_jpeg("astronaut"))


def test_report_shows_the_whole_diagnosis(result: dict[str, Any]) -> None:
    page = render_html([("astronaut.jpg", result)])

    assert page.startswith("<!doctype html>")
    assert '<html lang="en">' in page
    assert result["season"]["name"]["en"] in page
    assert result["second_season"]["name"]["en"] in page
    for season in SEASONS:  # the chart covers all twelve
        assert season.name_en in page
    for part in ("skin", "eyes", "hair", "lips"):
        assert f"background:{result['measurements'][part]['hex']}" in page
    for colour in result["palette"]["best"] + result["palette"]["avoid"]:
        assert f"background:{colour}" in page
    assert MODEL_VERSION in page
    assert "Confidence" in page


def test_report_is_self_contained_and_has_no_photo_unless_given(result: dict[str, Any]) -> None:
    page = render_html([("astronaut.jpg", result)])

    assert not re.search(r"https?:|//[a-z]|<script|<link|url\(|@import", page, re.IGNORECASE)
    assert "<img" not in page


def test_photo_is_embedded_as_a_data_uri() -> None:
    photo = sample_jpeg("grace_hopper")
    result = analyze(photo)

    page = render_html([("grace.jpg", result)], photos={"grace.jpg": photo})

    match = re.search(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', page)
    assert match is not None
    assert base64.b64decode(match.group(1)) == photo


BOX = re.compile(
    r'<span class="box( analysed)?" style="left:([0-9.]+)%;top:([0-9.]+)%;'
    r'width:([0-9.]+)%;height:([0-9.]+)%"><b>(\d+)</b></span>'
)


@pytest.fixture(scope="module")
def group() -> tuple[bytes, dict[str, Any]]:
    photo = two_faces_jpeg()
    return photo, analyze(photo, face=1)


def _drawn(page: str) -> list[tuple[int, bool, list[float]]]:
    """(number, analysed, [x0, y0, x1, y1] in 0-1) of each face box drawn on the page."""
    drawn = []
    for analysed, left, top, width, height, number in BOX.findall(page):
        x0, y0 = float(left) / 100, float(top) / 100
        box = [x0, y0, x0 + float(width) / 100, y0 + float(height) / 100]
        drawn.append((int(number), bool(analysed), box))
    return drawn


@pytest.mark.parametrize("with_photo", [True, False])
def test_every_face_is_boxed_and_numbered_the_analysed_one_highlighted(
    group: tuple[bytes, dict[str, Any]], with_photo: bool
) -> None:
    photo, result = group
    page = render_html([("group.jpg", result)], photos={"group.jpg": photo} if with_photo else {})

    drawn = _drawn(page)
    assert [(number, analysed) for number, analysed, _ in drawn] == [(0, False), (1, True)]
    for (_, _, box), expected in zip(drawn, result["faces"]["boxes"], strict=True):
        assert box == pytest.approx(expected, abs=1e-4)
    assert "Face 1 of 2, numbered 0–1 from the left" in page
    assert ('<figure class="faces schematic">' in page) is not with_photo
    assert ("<img" in page) is with_photo  # without the photo, a schematic: no image at all


def test_report_says_what_set_the_light_and_how_sure_skin_lightness_is(
    result: dict[str, Any],
) -> None:
    skin = result["measurements"]["skin"]
    lightness = f"skin L* {skin['lab'][0]:.0f} ± {skin['lightness_sd']:.0f}"

    assert f"{lightness}, exposure set by the eye whites" in render_html([("a.jpg", result)])
    assert "노출 기준: 눈 흰자" in render_html([("a.jpg", result)], lang="ko")
    # No reference: corrected, the usual skin lightness weighs in; uncorrected, the camera alone.
    bare = copy.deepcopy(result)
    bare["illumination"]["exposure_anchors"] = []
    assert "exposure from the camera and the usual skin lightness" in render_html([("a", bare)])
    bare["illumination"]["corrected"] = False
    assert "exposure as the camera set it" in render_html([("a", bare)])


def test_bad_boxes_are_dropped_and_old_results_have_none(result: dict[str, Any]) -> None:
    hostile = copy.deepcopy(result)
    hostile["faces"] = {
        "count": 4,
        "analysed": "0",
        "boxes": [["x", 0, 1, 1], [0.1, 0.2, "5;}", 0.3], [0.5, 0.5, 0.4, 0.6], [-1, -1, 2, 0.5]],
    }
    old = copy.deepcopy(result)
    old["faces"] = {"count": 1}
    del old["illumination"]["reference"], old["measurements"]["skin"]["lightness_sd"]

    assert [box for _, _, box in _drawn(render_html([("a.jpg", hostile)]))] == [[0, 0, 1, 0.5]]
    page = render_html([("old.jpg", old)])
    assert '<figure class="faces' not in page and "± " not in page


def test_korean_report(result: dict[str, Any]) -> None:
    page = render_html([("astronaut.jpg", result)], lang="ko")

    assert '<html lang="ko">' in page
    assert result["season"]["name"]["ko"] in page
    assert "퍼스널 컬러" in page
    assert "신뢰도" in page


def test_text_is_escaped_and_bad_colours_are_dropped(result: dict[str, Any]) -> None:
    hostile = copy.deepcopy(result)
    hostile["measurements"]["skin"]["hex"] = "red;background-image:url(x)"
    hostile["palette"]["metals"] = ["<b>gold</b>"]
    hostile["quality"]["issues"] = [{"code": "new_check", "message": "<script>alert(1)</script>"}]

    page = render_html([('<img src=x onerror="alert(1)">.jpg', hostile)])

    assert "<script>" not in page and "<b>gold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # an unknown code shows its message
    assert "<img" not in page and "&lt;img src=x" in page
    assert "background:red" not in page  # shown as text at most, never used as a style


def test_failed_inputs_get_an_error_card(result: dict[str, Any]) -> None:
    failure = {"error": {"code": "no_face", "message": "No face was found in the photo"}}

    page = render_html([("ok.jpg", result), ("empty.png", failure)])

    assert "1 of 2 photos analysed" in page
    assert "no_face" in page and "No face was found in the photo" in page
    assert page.count('<article class="card') == 2


def test_unknown_language_is_refused(result: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="language"):
        render_html([("astronaut.jpg", result)], lang="fr")


def test_every_palette_metal_has_a_translation_and_a_swatch() -> None:
    from colorseason.analysis.palette import palette_for
    from colorseason.i18n import METALS
    from colorseason.report import METAL_GRADIENTS

    metals = {metal for season in SEASONS for metal in palette_for(season.id)["metals"]}

    assert metals <= set(METALS)
    assert metals <= set(METAL_GRADIENTS)


# -- one person, several photos ------------------------------------------------------------------


@pytest.fixture(scope="module")
def person() -> dict[str, Any]:
    from colorseason.analysis import analyze_person

    good = sample_jpeg("astronaut")
    return analyze_person([good, good[: len(good) // 3], sample_jpeg("astronaut", quality=70)])


def test_a_persons_report_shows_how_far_the_photos_agree(person: dict[str, Any]) -> None:
    names = ["a.jpg", "<b>.jpg", "c.jpg"]
    photo = sample_jpeg("astronaut")
    page = render_html(
        [("a.jpg + <b>.jpg + c.jpg", person)],
        photos={"a.jpg": photo},
        photo_labels={"a.jpg + <b>.jpg + c.jpg": names},
    )
    block = page[page.index('<section class="block agreement">') :]
    block = block[: block.index("</section>")]
    assert "2 of 3 photos analysed" in page and "2 of 2 photos agree" in block
    assert block.count("<li") == 3 and "&lt;b&gt;.jpg" in block and "<b>.jpg" not in block
    assert 'class="failed"' in block and "corrupt_image" in block
    family = person["photos"][0]["season"]["family"]
    assert f'class="fam-{family}"' in block and person["photos"][0]["season"]["name"]["en"] in block
    assert block.count("<img") == 1  # the one photo given, as a thumbnail

    korean = render_html([("p", person)], lang="ko")
    assert "사진 2장 중 2장이 같은 계절" in korean and "사진 2" in korean  # numbered without names


def test_a_single_photos_report_has_no_agreement(result: dict[str, Any]) -> None:
    assert "block agreement" not in render_html([("astronaut.jpg", result)])
