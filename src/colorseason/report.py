"""The visual report: one self-contained HTML page for one or more diagnoses.

A diagnosis of several photos of one person gets a block that says how far the photos agree and
gives each photo's own family, season and light (or why it was left out).

Used by ``colorseason analyze --html`` and by the analyze function for ``Accept: text/html``.
The page has inline CSS and nothing else: no scripts, fonts, or links to other hosts, so it opens
offline, can be mailed as one file, and leaks nothing when viewed. The photo appears only when the
caller passes it (``photos``), as a ``data:`` URI built in memory; every face found is boxed on it
(numbered, the analysed one highlighted), and without it the boxes are drawn in a schematic frame.

Every string that comes from a result or a file name is escaped, and every colour is checked to
be ``#rrggbb`` before it reaches a ``style`` attribute.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from colorseason import i18n
from colorseason.analysis.seasons import FAMILIES, SEASONS

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

# Swatch gradients for the metals a palette can name; unknown metals get a neutral chip.
METAL_GRADIENTS: dict[str, tuple[str, str]] = {
    "gold": ("#b8860b", "#f3dc8a"),
    "light gold": ("#c9a94a", "#f8ecb8"),
    "polished gold": ("#b8860b", "#fff0a8"),
    "brushed gold": ("#a8843a", "#dcc58a"),
    "antique gold": ("#8c6d2c", "#cfb26b"),
    "brass": ("#8f7431", "#d8c078"),
    "rose gold": ("#b76e79", "#f0c7c0"),
    "copper": ("#8e4b2b", "#da8a5f"),
    "bronze": ("#6e4b25", "#c08c50"),
    "silver": ("#8e9296", "#eef0f2"),
    "white gold": ("#a9a9a2", "#f4f3ee"),
    "platinum": ("#9ea3a8", "#f5f6f7"),
    "pewter": ("#6b6f73", "#b8bcc0"),
    "gunmetal": ("#3b3f44", "#878c92"),
}

_CSS = """
:root{--ink:#1f2328;--muted:#656d76;--line:#e3e6ea;--bg:#f6f5f2;--card:#fff;--accent:#888}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);line-height:1.45;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Apple SD Gothic Neo","Malgun Gothic",
"Noto Sans KR","Noto Sans CJK KR",sans-serif}
main{max-width:960px;margin:0 auto;padding:28px 20px 40px}
.page-head h1{margin:0;font-size:26px;letter-spacing:-.01em}
.page-head p{margin:4px 0 20px;color:var(--muted)}
.card{background:var(--card);border-radius:18px;box-shadow:0 1px 3px rgba(0,0,0,.06),
0 8px 24px rgba(0,0,0,.05);margin:0 0 28px;overflow:hidden;break-inside:avoid}
.fam-spring{--accent:#e8894f;--tint:#fdf0e6}.fam-summer{--accent:#6f95c9;--tint:#edf2fa}
.fam-autumn{--accent:#9c5a23;--tint:#f6ece2}.fam-winter{--accent:#33407f;--tint:#e9ebf5}
.hero{display:flex;gap:22px;align-items:center;padding:24px 26px;
background:linear-gradient(120deg,var(--tint,#f0f0f0),#fff 70%);border-bottom:1px solid var(--line)}
.faces{margin:0;flex:none;max-width:260px}
.faces .frame{position:relative;display:inline-block;vertical-align:top;line-height:0}
.faces img{display:block;max-width:260px;max-height:200px;border-radius:12px;
box-shadow:0 2px 8px rgba(0,0,0,.15)}
.faces.schematic .frame{width:120px;height:120px;border-radius:10px;background:#eceef1;
border:1px dashed #b9bfc6}
.box{position:absolute;border:2px dashed rgba(255,255,255,.95);border-radius:4px;
box-shadow:0 0 0 1px rgba(0,0,0,.4)}
.box.analysed{border:3px solid var(--accent);box-shadow:0 0 0 1px #fff}
.schematic .box{border-color:#9aa1a9;box-shadow:none;display:flex;align-items:center;
justify-content:center}
.schematic .box.analysed{border-color:var(--accent);background:var(--tint,#f0f0f0)}
.schematic .box b,.schematic .box.analysed b{position:static;padding:0;background:none;
color:var(--ink)}
.box b{position:absolute;left:0;top:0;padding:1px 4px;border-radius:0 0 4px 0;background:#fff;
color:var(--ink);font-size:11px;line-height:1.3}
.box.analysed b{background:var(--accent);color:#fff}
.faces figcaption{margin-top:6px;font-size:12px;line-height:1.35;color:var(--muted)}
.hero .who{flex:1;min-width:0}
.input{margin:0;color:var(--muted);font-size:13px;overflow-wrap:anywhere}
.season{margin:2px 0 4px;font-size:32px;line-height:1.15;color:var(--accent);letter-spacing:-.01em}
.season .alt{display:block;font-size:16px;color:var(--muted);font-weight:500;letter-spacing:0}
.sub{margin:0;font-size:15px}
.runner{margin:4px 0 0;color:var(--muted);font-size:14px}
.gauges{flex:none;display:grid;gap:10px;width:190px}
.gauge b{display:flex;justify-content:space-between;font-size:13px;font-weight:600}
.gauge .track{height:8px;border-radius:4px;background:#e9ebee;overflow:hidden}
.gauge .fill{display:block;height:100%;background:var(--accent);border-radius:4px}
section.block{padding:18px 26px;border-bottom:1px solid var(--line)}
.block h3{margin:0 0 12px;font-size:13px;text-transform:uppercase;letter-spacing:.06em;
color:var(--muted)}
.cols{display:grid;grid-template-columns:1fr 1fr}
.cols>section.block:first-child{border-right:1px solid var(--line)}
.measured{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}
.measured figure{margin:0;text-align:center}
.dot{display:block;width:58px;height:58px;margin:0 auto 6px;border-radius:50%;
border:1px solid rgba(0,0,0,.12);box-shadow:inset 0 -6px 12px rgba(0,0,0,.08)}
.measured figcaption{font-size:13px;font-weight:600}
.light{margin:12px 0 0;font-size:12px;color:var(--muted)}
.code{display:block;font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
color:var(--muted);font-weight:400}
.dims{display:grid;gap:9px}
.dim{display:grid;grid-template-columns:84px 1fr;align-items:center;gap:10px;font-size:13px}
.dim .name{font-weight:600}
.dim .poles{display:flex;justify-content:space-between;color:var(--muted);font-size:11px}
.dim .track{position:relative;height:10px;background:#eceef1;border-radius:5px}
.dim .track:after{content:"";position:absolute;left:50%;top:-3px;bottom:-3px;width:1px;
background:#9aa1a9}
.dim .fill{position:absolute;top:0;bottom:0;background:var(--accent);border-radius:5px}
.chart{display:grid;grid-template-columns:repeat(4,1fr);gap:16px}
.family h4{margin:0 0 6px;font-size:14px;display:flex;justify-content:space-between}
.family h4 span{color:var(--muted);font-weight:500}
.family.spring{--bar:#e8894f}.family.summer{--bar:#6f95c9}
.family.autumn{--bar:#9c5a23}.family.winter{--bar:#33407f}
.row{font-size:12px;margin:0 0 7px}
.row .label{display:flex;justify-content:space-between;gap:6px}
.row .bar{height:8px;background:#eceef1;border-radius:4px;overflow:hidden;margin-top:2px}
.row .bar span{display:block;height:100%;background:var(--bar);opacity:.55}
.row.top .label{font-weight:700}.row.top .bar span{opacity:1}
.row.second .bar span{opacity:.8}
.palette{display:grid;gap:12px}
.prow{display:grid;grid-template-columns:140px 1fr;align-items:center;gap:10px}
.prow .name{font-size:13px;font-weight:600}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.chip{width:38px;height:38px;border-radius:9px;border:1px solid rgba(0,0,0,.1);position:relative}
.avoid .chip{opacity:.9}
.avoid .chip:after{content:"";position:absolute;left:50%;top:-3px;bottom:-3px;width:2px;
background:#fff;transform:rotate(45deg);box-shadow:0 0 0 1px rgba(0,0,0,.25)}
.metal{display:inline-flex;align-items:center;gap:6px;padding:4px 10px 4px 4px;border-radius:20px;
background:#f3f4f6;font-size:13px}
.metal i{width:24px;height:24px;border-radius:50%;border:1px solid rgba(0,0,0,.15)}
.issues{margin:0;padding:0;list-style:none;display:grid;gap:8px}
.issues li{padding:10px 12px;border-radius:10px;background:#fff7e6;border:1px solid #f3dfb2;
font-size:14px}
.issues .code{display:inline;margin-right:6px}
.ok{margin:0;color:#1a7f37;font-size:14px}
.meta{padding:12px 26px;font-size:12px;color:var(--muted);display:flex;flex-wrap:wrap;gap:4px 18px}
.error .hero{background:#fff1f0}
.error .season{color:#b42318;font-size:22px}
.disclaimer{color:var(--muted);font-size:12px;max-width:720px}
.agreement .agree{margin:0 0 10px;font-size:15px;font-weight:600}
.shots{margin:0;padding:0;list-style:none;display:grid;gap:8px}
.shots li{display:flex;align-items:center;gap:10px;font-size:13px}
.shots img{width:48px;height:48px;object-fit:cover;border-radius:8px;flex:none}
.shots .mark{width:14px;height:14px;border-radius:50%;flex:none;background:var(--accent)}
.shots .failed .mark,.shots .stranger .mark{background:#d0d4d9}
.shots .failed,.shots .stranger{color:var(--muted)}
.shots b{font-weight:600;overflow-wrap:anywhere}
@media (max-width:720px){.hero{flex-wrap:wrap}.cols,.chart{grid-template-columns:1fr 1fr}
.cols>section.block:first-child{border-right:0}.measured{grid-template-columns:repeat(2,1fr)}}
@media print{body{background:#fff}.card{box-shadow:none;border:1px solid var(--line)}}
"""


def render_html(
    items: list[tuple[str, dict[str, Any]]],
    lang: str = "en",
    photos: Mapping[str, bytes] | None = None,
    photo_labels: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """One HTML page with a card per ``(label, result)``.

    ``result`` is the diagnosis JSON, or ``{"error": {"code", "message"}}`` for an input that
    failed (the CLI reports every input it was given). ``photos`` maps a label to the image bytes
    to show on its card; images are embedded as ``data:`` URIs, never referenced by path. A result
    of several photos of one person names them by ``photo_labels[label]`` (else numbers them),
    and shows a thumbnail of each one diagnosed that ``photos`` has under its name.
    """
    if lang not in i18n.LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose from {i18n.LANGUAGES}")
    photos = photos or {}
    photo_labels = photo_labels or {}
    # Photos, not cards: a card of one person's photos counts each of them.
    shots = [shot for _, result in items for shot in result.get("photos") or [result]]
    analysed = sum(1 for shot in shots if "error" not in shot)
    summary = i18n.text("summary", lang).format(ok=analysed, total=len(shots))
    cards = "".join(
        _error_card(label, result["error"], lang)
        if "error" in result
        else _result_card(label, result, lang, photos, photo_labels.get(label) or ())
        for label, result in items
    )
    title = escape(i18n.text("title", lang))
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head><body><main>"
        f'<header class="page-head"><h1>{title}</h1><p>{escape(summary)}</p></header>'
        f'{cards}<p class="disclaimer">{escape(i18n.text("disclaimer", lang))}</p>'
        "</main></body></html>\n"
    )


def _colour(value: Any) -> str | None:
    """``value`` if it is a ``#rrggbb`` colour (safe inside a style attribute), else None."""
    return value if isinstance(value, str) and _HEX_COLOUR.fullmatch(value) else None


def _percent(fraction: Any) -> float:
    """A probability or score in [0, 1] as a width percentage clamped to [0, 100]."""
    return min(100.0, max(0.0, float(fraction) * 100.0))


def _percent_label(fraction: Any) -> str:
    value = _percent(fraction)
    return "<1%" if 0 < value < 0.5 else f"{value:.0f}%"


def _photo_uri(data: bytes) -> str | None:
    """A ``data:`` URI for a JPEG/PNG/WebP photo, or None for anything else."""
    from colorseason.analysis import sniff_format
    from colorseason.errors import UnsupportedMediaTypeError

    try:
        fmt = sniff_format(data)
    except UnsupportedMediaTypeError:
        return None
    return f"data:image/{fmt};base64,{base64.b64encode(data).decode('ascii')}"


def _season_title(season: Mapping[str, Any], lang: str) -> tuple[str, str]:
    """(name in ``lang``, name in the other language) for a result's season object."""
    names = season.get("name") or {}
    primary = names.get(lang) or i18n.season_name(season.get("id", ""), lang)
    other_lang = next((other for other in i18n.LANGUAGES if other != lang), lang)
    secondary = names.get(other_lang) or i18n.season_name(season.get("id", ""), other_lang)
    return primary, secondary


def _box(value: Any) -> tuple[float, float, float, float] | None:
    """A face box ``[x0, y0, x1, y1]`` (0-1 of the photo) clamped to the photo, else None."""
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    try:
        x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in value)
    except (TypeError, ValueError):
        return None
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _faces(faces: Mapping[str, Any], label: str, lang: str, photo: bytes | None) -> str:
    """The photo, when given, with every face's box drawn on it and labelled with its number
    (the analysed one highlighted); without the photo, the boxes in a small schematic frame.
    The frame's aspect is unknown then (the result keeps no image size), so it is a square."""
    uri = _photo_uri(photo) if photo is not None else None
    listed = faces.get("boxes")
    boxes = listed if isinstance(listed, list) else []
    drawn = []
    for number, box in enumerate(map(_box, boxes)):
        if box is None:
            continue
        x0, y0, x1, y1 = (value * 100 for value in box)
        analysed = " analysed" if number == faces.get("analysed") else ""
        drawn.append(
            f'<span class="box{analysed}" style="left:{x0:.2f}%;top:{y0:.2f}%;'
            f'width:{x1 - x0:.2f}%;height:{y1 - y0:.2f}%"><b>{number}</b></span>'
        )
    if uri is None and not drawn:
        return ""
    which = i18n.face_summary(dict(faces), lang)
    caption = (
        f"<figcaption>{escape(i18n.text('face', lang))} {escape(which)}</figcaption>"
        if which
        else ""
    )
    image = f'<img src="{uri}" alt="{escape(label)}">' if uri else ""
    frame = f'<div class="frame">{image}{"".join(drawn)}</div>'
    return f'<figure class="{"faces" if uri else "faces schematic"}">{frame}{caption}</figure>'


def _gauge(label: str, fraction: Any) -> str:
    return (
        f'<div class="gauge"><b><span>{escape(label)}</span><span>{_percent_label(fraction)}'
        f'</span></b><div class="track"><span class="fill" style="width:{_percent(fraction):.1f}%">'
        "</span></div></div>"
    )


def _hero(label: str, result: Mapping[str, Any], lang: str, photo: bytes | None) -> str:
    season, second = result["season"], result["second_season"]
    probabilities = result.get("probabilities", {})
    primary, secondary = _season_title(season, lang)
    second_name, _ = _season_title(second, lang)
    image = _faces(result.get("faces") or {}, label, lang, photo)
    family = i18n.family_name(season.get("family", ""), lang)
    undertone = i18n.undertone_name(result.get("undertone", ""), lang)
    # Beside the family's name, its total: what decided the season (docs/api.md).
    share = _percent_label((result.get("families") or {}).get(season.get("family"), 0))
    runner_share = _percent_label(probabilities.get(second.get("id"), 0))
    quality = result.get("quality", {})
    return (
        f'<div class="hero">{image}<div class="who"><p class="input">{escape(label)}</p>'
        f'<h2 class="season">{escape(primary)}<span class="alt">{escape(secondary)}</span></h2>'
        f'<p class="sub">{escape(family)} · {escape(i18n.text("undertone", lang))}: '
        f"{escape(undertone)} · {share}</p>"
        f'<p class="runner">{escape(i18n.text("runner_up", lang))}: {escape(second_name)} '
        f"{runner_share}</p></div>"
        f'<div class="gauges">{_gauge(i18n.text("confidence", lang), result.get("confidence", 0))}'
        f"{_gauge(i18n.text('quality', lang), quality.get('score', 0))}</div></div>"
    )


def _measured(result: Mapping[str, Any], lang: str) -> str:
    measurements = result.get("measurements", {})
    figures = []
    for part, names in i18n.MEASUREMENTS.items():
        measured = measurements.get(part)
        if not measured:
            continue
        hex_value = _colour(measured.get("hex"))
        lab = "/".join(f"{float(v):.0f}" for v in measured.get("lab", []))
        fill = f' style="background:{hex_value}"' if hex_value else ""
        figures.append(
            f'<figure><span class="dot"{fill}></span><figcaption>{escape(names[lang])}'
            f'<span class="code">{escape(str(measured.get("hex", "")))}</span>'
            f'<span class="code">L*a*b* {escape(lab)}</span></figcaption></figure>'
        )
    summary = i18n.light_summary(dict(result), lang)
    light = f'<p class="light">{escape(summary)}</p>' if summary else ""
    return _block("measured", lang, f'<div class="measured">{"".join(figures)}</div>{light}')


def _dimensions(dimensions: Mapping[str, Any], lang: str) -> str:
    rows = []
    for key, names in i18n.DIMENSIONS.items():
        if key not in dimensions:
            continue
        title, low, high = names[lang]
        value = max(-1.0, min(1.0, float(dimensions[key])))
        left = 50 + min(value, 0) * 50
        width = abs(value) * 50
        rows.append(
            f'<div class="dim"><span class="name">{escape(title)}</span><div>'
            f'<div class="track"><span class="fill" style="left:{left:.1f}%;width:{width:.1f}%">'
            f'</span></div><div class="poles"><span>{escape(low)}</span><span>{value:+.2f}</span>'
            f"<span>{escape(high)}</span></div></div></div>"
        )
    return _block("dimensions", lang, f'<div class="dims">{"".join(rows)}</div>')


def _chart(result: Mapping[str, Any], lang: str) -> str:
    """Bars for all twelve seasons, one column per family, winner and runner-up emphasised."""
    probabilities = result.get("probabilities", {})
    families = result.get("families", {})
    top, second = result["season"].get("id"), result["second_season"].get("id")
    columns = []
    for family in FAMILIES:
        rows = []
        for season_id in (season.id for season in SEASONS if season.family == family):
            probability = probabilities.get(season_id, 0)
            rank = " top" if season_id == top else " second" if season_id == second else ""
            rows.append(
                f'<div class="row{rank}"><div class="label"><span>'
                f"{escape(i18n.season_name(season_id, lang))}</span>"
                f"<span>{_percent_label(probability)}</span></div>"
                f'<div class="bar"><span style="width:{_percent(probability):.1f}%"></span></div>'
                "</div>"
            )
        columns.append(
            f'<div class="family {family}"><h4>{escape(i18n.family_name(family, lang))}'
            f"<span>{_percent_label(families.get(family, 0))}</span></h4>{''.join(rows)}</div>"
        )
    return _block("probabilities", lang, f'<div class="chart">{"".join(columns)}</div>')


def _chips(colours: Iterable[Any]) -> str:
    return "".join(
        f'<span class="chip" title="{hex_value}" style="background:{hex_value}"></span>'
        for hex_value in map(_colour, colours)
        if hex_value
    )


def _metals(metals: Iterable[Any], lang: str) -> str:
    chips = []
    for metal in metals:
        dark, light = METAL_GRADIENTS.get(str(metal).lower(), ("#9aa0a6", "#e8eaed"))
        chips.append(
            f'<span class="metal"><i style="background:linear-gradient(135deg,{light},{dark})">'
            f"</i>{escape(i18n.metal_name(str(metal), lang))}</span>"
        )
    return "".join(chips)


def _palette(palette: Mapping[str, Any], lang: str) -> str:
    rows = []
    for key, names in i18n.PALETTE.items():
        values = palette.get(key) or []
        if not values:
            continue
        content = _metals(values, lang) if key == "metals" else _chips(values)
        rows.append(
            f'<div class="prow {key}"><span class="name">{escape(names[lang])}</span>'
            f'<div class="chips">{content}</div></div>'
        )
    return _block("palette", lang, f'<div class="palette">{"".join(rows)}</div>')


def _quality(quality: Mapping[str, Any], lang: str) -> str:
    issues = quality.get("issues") or []
    if issues:
        items = "".join(
            f'<li><span class="code">{escape(str(issue.get("code", "")))}</span>'
            f"{escape(i18n.quality_advice(issue, lang))}</li>"
            for issue in issues
        )
        body = f'<ul class="issues">{items}</ul>'
    else:
        body = f'<p class="ok">{escape(i18n.text("no_issues", lang))}</p>'
    return _block("quality", lang, body)


def _block(title: str, lang: str, body: str) -> str:
    """One section of the report card: its translated heading over ``body`` (already HTML)."""
    return f'<section class="block"><h3>{escape(i18n.text(title, lang))}</h3>{body}</section>'


def _meta(result: Mapping[str, Any], lang: str) -> str:
    version = (result.get("model") or {}).get("version", "?")
    faces = (result.get("faces") or {}).get("count", "?")
    timings = result.get("timings_ms") or {}
    timing_text = " · ".join(f"{stage} {float(ms):.1f}" for stage, ms in timings.items())
    parts = [
        f"{i18n.text('model', lang)} {version}",
        f"{i18n.text('faces', lang)}: {faces}",
        f"{i18n.text('timings', lang)} (ms): {timing_text}" if timing_text else "",
    ]
    return (
        '<footer class="meta">'
        + "".join(f"<span>{escape(str(part))}</span>" for part in parts if part)
        + "</footer>"
    )


def _family_class(season: Any) -> str:
    family = season.get("family", "") if isinstance(season, Mapping) else ""
    return f" fam-{family}" if family in FAMILIES else ""


def _agreement(
    result: Mapping[str, Any], lang: str, names: Sequence[str], photos: Mapping[str, bytes]
) -> str:
    """How far the photos of one person agree, and each photo's own line; empty for one photo."""
    summary = i18n.agreement_summary(dict(result.get("agreement") or {}), lang)
    if summary is None:
        return ""
    rows = []
    for number, photo in enumerate(result.get("photos") or []):
        if not isinstance(photo, Mapping):
            continue
        name = names[number] if number < len(names) else ""
        name = name or i18n.text("photo_number", lang).format(number=number + 1)
        if not photo.get("ok"):
            state = "failed"
        elif photo.get("different_person"):
            state = "stranger"
        else:
            state = _family_class(photo.get("season")).strip()
        uri = _photo_uri(photos[name]) if name in photos and photo.get("ok") else None
        thumbnail = f'<img src="{uri}" alt="{escape(name)}">' if uri else ""
        rows.append(
            f'<li class="{state}">{thumbnail}<span class="mark"></span><span>'
            f"<b>{escape(name)}</b> {escape(i18n.photo_summary(dict(photo), lang))}</span></li>"
        )
    return (
        f'<section class="block agreement"><h3>{escape(i18n.text("photos", lang))}</h3>'
        f'<p class="agree">{escape(summary)}</p><ul class="shots">{"".join(rows)}</ul></section>'
    )


def _result_card(
    label: str,
    result: Mapping[str, Any],
    lang: str,
    photos: Mapping[str, bytes],
    names: Sequence[str],
) -> str:
    return (
        f'<article class="card{_family_class(result["season"])}">'
        f"{_hero(label, result, lang, photos.get(label))}"
        f"{_agreement(result, lang, names, photos)}"
        f'<div class="cols">{_measured(result, lang)}'
        f"{_dimensions(result.get('dimensions', {}), lang)}</div>"
        f"{_chart(result, lang)}{_palette(result.get('palette', {}), lang)}"
        f"{_quality(result.get('quality', {}), lang)}{_meta(result, lang)}</article>"
    )


def _error_card(label: str, error: Mapping[str, Any], lang: str) -> str:
    code = str(error.get("code", "internal_error"))
    return (
        f'<article class="card error"><div class="hero"><div class="who">'
        f'<p class="input">{escape(label)}</p>'
        f'<h2 class="season">{escape(i18n.text("error", lang))}: {escape(code)}</h2>'
        f'<p class="sub">{escape(i18n.error_message(dict(error), lang))}</p></div></div></article>'
    )
