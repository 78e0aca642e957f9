"""Every human-facing word of the CLI and the HTML report, in English and Korean, in one place.

The result JSON is language-independent (ids and codes, plus ``name`` {en, ko} for seasons); this
module turns those ids and codes into words. Season names themselves live with the model
(``colorseason.analysis.seasons``). Add a language by adding a column to each table.
An unknown code falls back to the English text the pipeline wrote, so a new quality check never
shows up blank.
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "ko")

FAMILY_NAMES: dict[str, dict[str, str]] = {
    "spring": {"en": "Spring", "ko": "봄 웜"},
    "summer": {"en": "Summer", "ko": "여름 쿨"},
    "autumn": {"en": "Autumn", "ko": "가을 웜"},
    "winter": {"en": "Winter", "ko": "겨울 쿨"},
}

UNDERTONES: dict[str, dict[str, str]] = {
    "warm": {"en": "warm", "ko": "웜톤"},
    "cool": {"en": "cool", "ko": "쿨톤"},
    "neutral": {"en": "neutral", "ko": "뉴트럴"},
}

# Each dimension runs from -1 (first pole) to +1 (second pole).
DIMENSIONS: dict[str, dict[str, tuple[str, str, str]]] = {
    "warmth": {"en": ("Warmth", "cool", "warm"), "ko": ("온도감", "쿨", "웜")},
    "depth": {"en": ("Depth", "light", "deep"), "ko": ("명도", "밝음", "깊음")},
    "clarity": {"en": ("Clarity", "soft", "clear"), "ko": ("채도", "부드러움", "선명함")},
    "contrast": {"en": ("Contrast", "low", "high"), "ko": ("대비", "낮음", "높음")},
}

MEASUREMENTS: dict[str, dict[str, str]] = {
    "skin": {"en": "Skin", "ko": "피부"},
    "eyes": {"en": "Eyes", "ko": "눈동자"},
    "hair": {"en": "Hair", "ko": "머리카락"},
    "lips": {"en": "Lips", "ko": "입술"},
}

PALETTE: dict[str, dict[str, str]] = {
    "best": {"en": "Best colours", "ko": "베스트 컬러"},
    "avoid": {"en": "Colours to avoid", "ko": "피해야 할 컬러"},
    "lips": {"en": "Lips", "ko": "립"},
    "blush": {"en": "Blush", "ko": "블러셔"},
    "hair": {"en": "Hair colour", "ko": "헤어 컬러"},
    "metals": {"en": "Metals", "ko": "액세서리 금속"},
}

# Every metal name colorseason.analysis.palette uses (tests/test_report.py checks the list).
METALS: dict[str, dict[str, str]] = {
    "gold": {"en": "gold", "ko": "골드"},
    "light gold": {"en": "light gold", "ko": "라이트 골드"},
    "polished gold": {"en": "polished gold", "ko": "유광 골드"},
    "brushed gold": {"en": "brushed gold", "ko": "무광 골드"},
    "rose gold": {"en": "rose gold", "ko": "로즈 골드"},
    "brass": {"en": "brass", "ko": "황동"},
    "copper": {"en": "copper", "ko": "구리"},
    "bronze": {"en": "bronze", "ko": "브론즈"},
    "antique gold": {"en": "antique gold", "ko": "앤티크 골드"},
    "silver": {"en": "silver", "ko": "실버"},
    "platinum": {"en": "platinum", "ko": "플래티넘"},
    "white gold": {"en": "white gold", "ko": "화이트 골드"},
    "pewter": {"en": "pewter", "ko": "퓨터"},
    "gunmetal": {"en": "gunmetal", "ko": "건메탈"},
}

# What set the light's colour (illumination.reference) and the exposure
# (illumination.exposure_anchors): analysis/illumination.py.
LIGHT_REFERENCES: dict[str, dict[str, str]] = {
    "white_card": {"en": "the white card", "ko": "흰 종이"},
    "eyes": {"en": "the eye whites", "ko": "눈 흰자"},
    "teeth": {"en": "the teeth", "ko": "치아"},
    "scene": {"en": "grey surfaces around the face", "ko": "얼굴 주변의 회색 표면"},
}

# Quality advice and error messages: English is the pipeline's own message (one source, and more
# specific); other languages are translated here per stable code. Codes: analysis/quality.py and
# colorseason/errors.py.
QUALITY_ADVICE: dict[str, dict[str, str]] = {
    "grayscale_photo": {
        "ko": "흑백 사진입니다. 흑백에서는 언더톤이 보이지 않으니 컬러 사진을 보내 주세요.",
    },
    "face_too_small": {
        "ko": "얼굴이 사진에서 작습니다. 얼굴이 화면의 3분의 1을 채우도록 가까이서 찍어 주세요.",
    },
    "blurry": {
        "ko": "얼굴이 흐릿합니다. 카메라를 고정하고 얼굴을 눌러 초점을 맞춰 주세요.",
    },
    "underexposed": {
        "ko": "사진이 어둡습니다. 낮에 창문을 마주 보거나 조명을 더 켜 주세요.",
    },
    "overexposed": {
        "ko": "얼굴이 하얗게 날아갔습니다. 직사광선과 플래시를 피하고 부드러운 자연광에서 "
        "찍어 주세요.",
    },
    "uneven_light": {
        "ko": "얼굴 한쪽이 더 어둡습니다. 양 볼에 빛이 고르게 닿도록 광원을 정면으로 "
        "마주해 주세요.",
    },
    "colour_cast": {
        "ko": "조명의 색이 강합니다(보정했습니다). 가장 좋은 결과를 위해 색조명을 피해 창가의 "
        "자연광에서 찍어 주세요.",
    },
    "no_light_reference": {
        "ko": "배경이나 눈 흰자가 거의 보이지 않아 조명을 확인하지 못해 보정하지 않았습니다. "
        "머리 주변에 단색 배경이 보이게 찍어 주세요.",
    },
    "eyes_closed": {
        "ko": "눈을 감은 것 같아 눈동자 색을 측정하지 못했습니다. 눈을 뜨고 찍어 주세요.",
    },
    "hair_not_visible": {
        "ko": "이마 위로 머리카락이 보이지 않아 눈썹으로 머리 색을 측정했습니다. 모자 없이 "
        "헤어라인이 보이게 찍어 주세요.",
    },
    "multiple_faces": {
        "ko": "사진에 여러 얼굴이 있어 한 얼굴만 분석했습니다. 번호로 고르지 않으면 가장 큰 "
        "얼굴입니다. 원하는 얼굴을 고르거나 한 사람만 나온 사진을 보내 주세요.",
    },
}

ERROR_MESSAGES: dict[str, dict[str, str]] = {
    "unsupported_media_type": {
        "ko": "지원하지 않는 이미지 형식입니다. JPEG, PNG, WebP 사진을 보내 주세요.",
    },
    "corrupt_image": {"ko": "이미지를 읽을 수 없습니다. 파일이 손상되었을 수 있습니다."},
    "image_too_large": {"ko": "이미지가 너무 큽니다. 더 작은 사진을 보내 주세요."},
    "image_too_small": {"ko": "이미지가 너무 작아 분석할 수 없습니다. 더 큰 사진을 보내 주세요."},
    "no_face": {"ko": "얼굴을 찾지 못했습니다. 얼굴 전체가 보이는 정면 사진을 보내 주세요."},
    "face_too_small": {"ko": "얼굴이 너무 작아 측정할 수 없습니다. 카메라에 더 가까이 오세요."},
    "face_hidden": {
        "ko": "피부, 입술이나 눈을 측정할 수 없습니다. "
        "가리는 것 없이 얼굴 전체가 보이게 찍어 주세요.",
    },
    "face_not_found": {
        "ko": "사진에 그 번호의 얼굴이 없습니다. 얼굴은 왼쪽부터 0번, 1번… 순서로 셉니다.",
    },
    "not_found": {"ko": "파일을 찾을 수 없습니다."},
    "internal_error": {"ko": "분석 중 예기치 않은 오류가 발생했습니다."},
}

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Personal colour report", "ko": "퍼스널 컬러 진단 결과"},
    "season": {"en": "Season", "ko": "시즌"},
    "runner_up": {"en": "Runner-up", "ko": "차선 시즌"},
    "families": {"en": "Families", "ko": "계절"},
    "probabilities": {"en": "All twelve seasons", "ko": "12가지 시즌 확률"},
    "undertone": {"en": "Undertone", "ko": "언더톤"},
    "dimensions": {"en": "Dimensions", "ko": "특성"},
    "measured": {"en": "Measured colours", "ko": "측정된 색"},
    "palette": {"en": "Palette", "ko": "팔레트"},
    "quality": {"en": "Photo quality", "ko": "사진 품질"},
    "no_issues": {"en": "No problems found.", "ko": "문제가 없습니다."},
    "confidence": {"en": "Confidence", "ko": "신뢰도"},
    "timings": {"en": "Timings", "ko": "처리 시간"},
    "model": {"en": "Model", "ko": "모델"},
    "faces": {"en": "Faces found", "ko": "발견된 얼굴"},
    "face": {"en": "Face", "ko": "얼굴"},
    "face_of": {
        "en": "{number} of {count}, numbered 0–{last} from the left",
        "ko": "{count}명 중 {number}번 (왼쪽부터 0–{last}번)",
    },
    "light": {"en": "Light", "ko": "조명"},
    "skin_lightness": {"en": "skin L* {value} ± {sd}", "ko": "피부 명도 L* {value} ± {sd}"},
    "exposure_from": {"en": "exposure set by {anchors}", "ko": "노출 기준: {anchors}"},
    "exposure_camera": {"en": "exposure as the camera set it", "ko": "노출: 카메라 그대로"},
    "exposure_camera_skin": {
        "en": "exposure from the camera and the usual skin lightness",
        "ko": "노출: 카메라와 보통 피부 명도 기준",
    },
    "colour_from": {"en": "light colour from {reference}", "ko": "조명 색 기준: {reference}"},
    "colour_uncorrected": {"en": "light colour not corrected", "ko": "조명 색 보정 안 함"},
    "face_number": {"en": "Face {number}", "ko": "{number}번 얼굴"},
    "tap_face": {
        "en": "Tap another face to analyse it instead.",
        "ko": "다른 얼굴을 누르면 그 얼굴을 분석합니다.",
    },
    "photo_advice": {
        "en": "For the truest colours, hold a sheet of plain white paper beside your face at jaw "
        "height; we find it by ourselves and use it to correct the light. Take the photo in "
        "daylight from a window, with no filter or beauty mode, your hair back from your face.",
        "ko": "가장 정확한 색을 원하면 흰 종이 한 장을 턱 높이에서 얼굴 옆에 들어 주세요. "
        "종이는 저희가 알아서 찾아 조명 보정에 씁니다. 창가의 자연광에서 필터나 보정 모드 없이, "
        "머리카락을 넘겨 얼굴이 드러나게 찍어 주세요.",
    },
    "photo": {"en": "Photo", "ko": "사진"},
    # One person, several photos (analysis.analyze_person's photos and agreement).
    "photos": {"en": "Photos", "ko": "사진별 결과"},
    "photo_number": {"en": "Photo {number}", "ko": "사진 {number}"},
    "agree": {
        "en": "{agree} of {total} photos agree",
        "ko": "사진 {total}장 중 {agree}장이 같은 계절",
    },
    "spread": {
        "en": "skin L* within {lightness}, hue within {hue}°",
        "ko": "피부 명도 차이 {lightness}, 색상각 차이 {hue}°",
    },
    "different_person": {
        "en": "seems to be someone else: left out",
        "ko": "다른 사람으로 보여 제외했습니다",
    },
    "left_out": {"en": "left out", "ko": "제외"},
    "error": {"en": "Error", "ko": "오류"},
    "analysed": {"en": "analysed", "ko": "분석 완료"},
    "failed": {"en": "failed", "ko": "실패"},
    "summary": {
        "en": "{ok} of {total} photos analysed",
        "ko": "사진 {total}장 중 {ok}장 분석 완료",
    },
    "disclaimer": {
        "en": "Computed from one photo by a model built from published colour science, not "
        "trained on labelled people. Lighting and camera processing affect it; treat it as a "
        "starting point, not a verdict.",
        "ko": "사진 한 장과 공개된 색채학 자료로 만든 모델의 추정 결과이며, 사람에게 라벨링된 "
        "데이터로 학습하지 않았습니다. 조명과 카메라 보정의 영향을 받으니 참고용으로 봐 주세요.",
    },
}


def text(key: str, lang: str) -> str:
    """A UI string from ``TEXT`` in ``lang``."""
    return TEXT[key][lang]


def season_name(season_id: str, lang: str) -> str:
    """The seasonal name for an id (from the pipeline's season table), or the id if unknown."""
    # Imported here: the table lives with the model, and the CLI must start without loading it.
    from colorseason.analysis.seasons import SEASONS_BY_ID

    season = SEASONS_BY_ID.get(season_id)
    if season is None:
        return season_id
    return season.name_ko if lang == "ko" else season.name_en


def family_name(family: str, lang: str) -> str:
    """The family name (spring, summer, autumn, winter) in ``lang``."""
    return FAMILY_NAMES.get(family, {}).get(lang, family)


def undertone_name(undertone: str, lang: str) -> str:
    """warm / cool / neutral in ``lang``."""
    return UNDERTONES.get(undertone, {}).get(lang, undertone)


def metal_name(metal: str, lang: str) -> str:
    """A metal as written by the palette (e.g. ``"rose gold"``) in ``lang``."""
    return METALS.get(metal.lower(), {}).get(lang, metal)


def _listed(items: list[str], lang: str) -> str:
    """``a, b and c`` in English; Korean lists with commas."""
    if lang == "en" and len(items) > 1:
        return f"{', '.join(items[:-1])} and {items[-1]}"
    return ", ".join(items)


def face_summary(faces: dict, lang: str) -> str | None:
    """Which face of several was analysed (``face 1 of 3, numbered 0–2 from the left``); None
    for a photo of one face, or a result from before faces were numbered."""
    count, number = faces.get("count"), faces.get("analysed")
    if not isinstance(count, int) or count < 2 or not isinstance(number, int):
        return None
    return text("face_of", lang).format(number=number, count=count, last=count - 1)


def light_summary(result: dict, lang: str) -> str:
    """How sure skin L* is and what set the exposure and the light's colour, e.g. ``skin L* 62
    ± 5, exposure set by the eye whites; light colour from the eye whites``. Fields a stored
    result from an older version lacks are left out."""
    illumination = result.get("illumination") or {}
    skin = (result.get("measurements") or {}).get("skin") or {}
    parts = []
    lightness, sd = (skin.get("lab") or [None])[0], skin.get("lightness_sd")
    if isinstance(lightness, int | float) and isinstance(sd, int | float):
        parts.append(text("skin_lightness", lang).format(value=f"{lightness:.0f}", sd=f"{sd:.0f}"))
    anchors = illumination.get("exposure_anchors")
    if isinstance(anchors, list):
        names = [LIGHT_REFERENCES.get(a, {}).get(lang, str(a)) for a in anchors]
        # Corrected, the camera's exposure is weighed against the usual skin lightness too.
        camera = "exposure_camera_skin" if illumination.get("corrected") else "exposure_camera"
        parts.append(
            text("exposure_from", lang).format(anchors=_listed(names, lang))
            if names
            else text(camera, lang)
        )
    clauses = [", ".join(parts)] if parts else []
    if colour := _light_colour(illumination.get("reference"), lang):
        clauses.append(colour)
    return "; ".join(clauses)


def _light_colour(reference: object, lang: str) -> str | None:
    """What set the light's colour (``light colour from the eye whites``), if the result says."""
    if reference in LIGHT_REFERENCES:
        return text("colour_from", lang).format(reference=LIGHT_REFERENCES[str(reference)][lang])
    return text("colour_uncorrected", lang) if reference == "none" else None


def agreement_summary(agreement: dict, lang: str) -> str | None:
    """How far the photos of one person agree (``3 of 3 photos agree; skin L* within 2.1, hue
    within 3.4°``); None for a result of one photo."""
    total, share = agreement.get("photos"), agreement.get("family_share")
    if not isinstance(total, int) or not isinstance(share, int | float):
        return None
    parts = [text("agree", lang).format(agree=round(share * total), total=total)]
    lightness, hue = agreement.get("skin_lightness_spread"), agreement.get("skin_hue_spread")
    if isinstance(lightness, int | float) and isinstance(hue, int | float):
        parts.append(text("spread", lang).format(lightness=f"{lightness:.1f}", hue=f"{hue:.1f}"))
    return "; ".join(parts)


def photo_summary(photo: dict, lang: str) -> str:
    """One photo of several in a line: its own family and season and what set its light, why it
    was left out, or its error (``code: message``)."""
    if not photo.get("ok"):
        error = photo.get("error") or {}
        return f"{text('error', lang)} {error.get('code', '')}: {error_message(error, lang)}"
    season = photo.get("season") or {}
    parts = [
        family_name(str(season.get("family", "")), lang),
        (season.get("name") or {}).get(lang) or season_name(str(season.get("id", "")), lang),
    ]
    if colour := _light_colour(photo.get("reference"), lang):
        parts.append(colour)
    if photo.get("different_person"):
        parts.append(text("different_person", lang))
    return " · ".join(parts)


def quality_advice(issue: dict, lang: str) -> str:
    """Advice for a quality issue ``{code, message}`` in ``lang`` (else the pipeline's message)."""
    return QUALITY_ADVICE.get(issue.get("code", ""), {}).get(lang) or str(issue.get("message", ""))


def error_message(error: dict, lang: str) -> str:
    """The message for an error ``{code, message}`` in ``lang`` (else the pipeline's message)."""
    return ERROR_MESSAGES.get(error.get("code", ""), {}).get(lang) or str(error.get("message", ""))
