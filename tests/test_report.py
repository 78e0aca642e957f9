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
from colorseason.testing import sample_jpeg


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
