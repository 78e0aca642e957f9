"""`colorseason analyze`: output shapes, exit statuses, report files, languages, stdin."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from colorseason.cli import main
from colorseason.testing import (
    SAMPLE_PACKAGES,
    encode,
    one_person_jpegs,
    sample_bgr,
    sample_jpeg,
    two_faces_jpeg,
)
from support import without_packages


@pytest.fixture
def not_an_image(tmp_path: Path) -> Path:
    path = tmp_path / "notes.jpg"
    path.write_bytes(b"these are not the pixels you are looking for")
    return path


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_line_per_input(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["analyze", "--json", "--sample", "astronaut", "--sample", "grace_hopper"])

    lines = _json_lines(capsys.readouterr().out)
    assert status == 0
    assert [line["input"] for line in lines] == ["sample:astronaut", "sample:grace_hopper"]
    for line in lines:
        assert line["ok"] is True
        assert set(line) == {"input", "ok", "result"}
        assert line["result"]["season"]["family"] in {"spring", "summer", "autumn", "winter"}
        assert abs(sum(line["result"]["probabilities"].values()) - 1) < 1e-3


def test_one_bad_input_gives_exit_1_and_an_error_line(
    not_an_image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["analyze", "--json", str(not_an_image), "--sample", "astronaut"])

    captured = capsys.readouterr()
    bad, good = _json_lines(captured.out)
    assert status == 1
    assert bad == {
        "input": str(not_an_image),
        "ok": False,
        "error": {"code": "unsupported_media_type", "message": bad["error"]["message"]},
    }
    assert good["ok"] is True
    assert "Traceback" not in captured.out + captured.err


def test_missing_file_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["analyze", str(tmp_path / "absent.jpg")])

    captured = capsys.readouterr()
    assert status == 1
    assert "not_found" in captured.out
    assert "Traceback" not in captured.out + captured.err


def test_human_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["analyze", "--sample", "astronaut"])

    out = capsys.readouterr().out
    result = _analyse_sample_json(capsys)
    assert status == 0
    assert result["season"]["name"]["en"] in out
    assert result["second_season"]["name"]["en"] in out
    assert result["measurements"]["skin"]["hex"] in out
    for label in ("Undertone", "Warmth", "Depth", "Clarity", "Contrast", "Confidence", "Timings"):
        assert label in out
    assert "\x1b[" not in out  # no colour codes when stdout is not a terminal


def test_summary_says_how_sure_skin_lightness_is_and_what_set_the_light(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["analyze", "--sample", "astronaut"])

    out = " ".join(capsys.readouterr().out.split())  # long rows wrap
    result = _analyse_sample_json(capsys)
    skin, illumination = result["measurements"]["skin"], result["illumination"]
    assert illumination["reference"] == "eyes" and "eyes" in illumination["exposure_anchors"]
    lightness = f"skin L* {skin['lab'][0]:.0f} ± {skin['lightness_sd']:.0f}, exposure set by "
    assert lightness + "the eye whites" in out
    assert "light colour from the eye whites" in out
    assert "numbered 0–" not in out  # one face: nothing to choose


def test_korean_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["analyze", "--lang", "ko", "--sample", "grace_hopper"])

    out = capsys.readouterr().out
    result = _analyse_sample_json(capsys, "grace_hopper")
    assert status == 0
    assert result["season"]["name"]["ko"] in out
    assert "언더톤" in out and "신뢰도" in out
    assert f"피부 명도 L* {result['measurements']['skin']['lab'][0]:.0f} ±" in out


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_face_picks_a_face_of_every_photo_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, two_faces_jpeg())
    status = main(["analyze", "--json", "--face", "1", "-", "--sample", "astronaut"])

    group, portrait = _json_lines(capsys.readouterr().out)
    assert status == 1
    assert group["ok"] and group["result"]["faces"]["analysed"] == 1
    assert portrait["error"]["code"] == "face_not_found"  # the astronaut has no face 1


@pytest.mark.parametrize(("lang", "said"), [("en", "Face "), ("ko", "얼굴 ")])
def test_summary_says_which_face_of_several_was_analysed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str, said: str
) -> None:
    for face, text in (("0", {"en": "0 of 2", "ko": "2명 중 0번"}),
                       ("1", {"en": "1 of 2", "ko": "2명 중 1번"})):  # fmt: skip
        _stdin(monkeypatch, two_faces_jpeg())
        assert main(["analyze", "--lang", lang, "--face", face, "-"]) == 0
        line = next(row for row in capsys.readouterr().out.splitlines() if said in row)
        assert text[lang] in line and "0–1" in line


def _analyse_sample_json(capsys: pytest.CaptureFixture[str], name: str = "astronaut") -> dict:
    main(["analyze", "--json", "--sample", name])
    return _json_lines(capsys.readouterr().out)[0]["result"]


def test_progress_on_stderr_for_several_inputs(
    not_an_image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["analyze", "--json", "--sample", "astronaut", str(not_an_image)])

    err = capsys.readouterr().err
    assert "[1/2]" in err and "[2/2] sample:astronaut" in err  # files first, then samples
    assert "1 of 2 photos analysed" in err


def test_html_report_is_self_contained(
    tmp_path: Path, not_an_image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.html"

    status = main(["analyze", "--html", str(report), "--sample", "astronaut", str(not_an_image)])

    page = report.read_text(encoding="utf-8")
    assert status == 1
    assert page.count('<article class="card') == 2
    assert "unsupported_media_type" in page
    assert not re.search(r"https?:", page)
    assert "<img" not in page
    assert str(report) in capsys.readouterr().err


def test_html_report_with_photo(tmp_path: Path) -> None:
    report = tmp_path / "report.html"

    status = main(["analyze", "--html", str(report), "--with-photo", "--sample", "astronaut"])

    assert status == 0
    assert '<img src="data:image/jpeg;base64,' in report.read_text(encoding="utf-8")


def test_html_report_in_korean(tmp_path: Path) -> None:
    report = tmp_path / "report.html"

    main(["analyze", "--lang", "ko", "--html", str(report), "--sample", "astronaut"])

    page = report.read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "퍼스널 컬러" in page


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, sample_jpeg("astronaut"))

    status = main(["analyze", "--json", "-"])

    (line,) = _json_lines(capsys.readouterr().out)
    assert status == 0
    assert line["input"] == "-" and line["ok"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze"],
        ["analyze", "--with-photo", "--sample", "astronaut"],
        ["analyze", "--sample", "mona_lisa"],
        ["analyze", "-", "-"],
        ["analyze", "--lang", "fr", "--sample", "astronaut"],
        ["analyze", "--face", "-1", "--sample", "astronaut"],
        ["analyze", "--face", "first", "--sample", "astronaut"],
        ["analyze", "--person", *["--sample", "astronaut"] * 6],
        [],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_up_options_are_declared(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["up", "--help"])

    help_text = capsys.readouterr().out
    for option in ("--host", "--port", "--urls", "--database-dir"):
        assert option in help_text


def test_entry_point_pipes_stdin_and_sets_the_exit_status() -> None:
    """The real process: stdin bytes in, one JSON line out, status 0; then a failure, status 1."""
    command = [sys.executable, "-m", "colorseason.cli", "analyze", "--json", "-"]

    good = subprocess.run(command, input=sample_jpeg("astronaut"), capture_output=True, timeout=120)
    bad = subprocess.run(command, input=b"GIF89a not really", capture_output=True, timeout=120)

    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["ok"] is True
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["error"]["code"] == "unsupported_media_type"
    assert b"Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("sample", "module"), [("astronaut", "skimage"), ("grace_hopper", "matplotlib")]
)
def test_a_sample_without_its_dev_package_says_what_to_install(sample: str, module: str) -> None:
    """The real process in an install without the dev group (the sample's package cannot be
    imported): one line on stderr and status 1, before any photo is analysed; no traceback."""
    program = without_packages(module) + "from colorseason.cli import main\nsys.exit(main())"
    command = [sys.executable, "-c", program, "analyze", "--sample", sample]

    run = subprocess.run([*command, "--json", "-"], input=b"", capture_output=True, timeout=120)

    package = SAMPLE_PACKAGES[sample]
    assert run.returncode == 1 and run.stdout == b""  # not even the stdin input was analysed
    assert run.stderr.decode() == (
        f"colorseason: --sample {sample} needs {package}, which comes with the dev dependency "
        f"group (`uv sync` in a checkout, or `pip install {package}`); or analyse a photo of your "
        "own\n"
    )


# -- --person: several photos of one person --------------------------------------------------------


@pytest.fixture
def one_person(tmp_path: Path) -> list[Path]:
    """The astronaut as she is, under a warm light, and a corrupt copy (a third of the file)."""
    plain, warm, _ = one_person_jpegs()
    files = {"plain.jpg": plain, "warm.jpg": warm, "broken.jpg": plain[: len(plain) // 3]}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return [tmp_path / name for name in files]


def test_person_json_is_one_line_for_all_the_photos(
    one_person: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["analyze", "--person", "--json", *map(str, one_person)])

    (line,) = _json_lines(capsys.readouterr().out)
    assert status == 0
    assert set(line) == {"input", "ok", "result"} and line["ok"] is True
    assert line["input"] == [str(path) for path in one_person]
    result = line["result"]
    assert [photo["ok"] for photo in result["photos"]] == [True, True, False]
    assert result["photos"][2]["error"]["code"] == "corrupt_image"
    assert result["agreement"]["photos"] == 2


def test_person_summary_gives_each_photos_line(
    one_person: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["analyze", "--person", *map(str, one_person)])

    out = capsys.readouterr().out
    text = " ".join(out.split())  # long rows wrap
    assert status == 0
    assert out.splitlines()[0] == " + ".join(map(str, one_person))
    assert "2 of 2 photos agree" in text
    for path in one_person:  # one line each, named by its file
        assert text.count(f"{path}: ") == 1
    assert f"{one_person[2]}: Error corrupt_image" in text
    assert text.count("Runner-up ") == 1  # one combined summary


def test_person_flags_a_photo_of_someone_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bgr = sample_bgr("astronaut")
    squeezed = cv2.resize(bgr, None, fx=0.75, fy=1.0, interpolation=cv2.INTER_AREA)
    paths = []
    for name, data in (("a.jpg", sample_jpeg()), ("b.png", encode(bgr, ".png")),
                       ("c.jpg", encode(squeezed))):  # fmt: skip
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))

    assert main(["analyze", "--person", "--lang", "ko", *paths]) == 0

    text = " ".join(capsys.readouterr().out.split())  # long rows wrap
    other = text[text.index(f"{paths[2]}: ") :]
    assert other.index("다른 사람으로 보여 제외했습니다") < other.index("언더톤")  # its own row
    assert "사진 2장 중" in text


def test_person_fails_only_when_every_photo_fails(
    tmp_path: Path, not_an_image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["analyze", "--person", "--json", str(not_an_image), str(not_an_image)])
    (line,) = _json_lines(capsys.readouterr().out)
    assert status == 1 and line["ok"] is False
    assert line["input"] == [str(not_an_image)] * 2
    assert line["error"]["code"] == "unsupported_media_type"
    missing = str(tmp_path / "absent.jpg")  # a name that is not there fails the whole person
    assert main(["analyze", "--person", "--json", missing, "--sample", "astronaut"]) == 1
    (line,) = _json_lines(capsys.readouterr().out)
    assert line["error"]["code"] == "not_found" and missing in line["error"]["message"]


def test_person_html_is_one_card_with_the_agreement(tmp_path: Path, one_person: list[Path]) -> None:
    report = tmp_path / "report.html"

    status = main(["analyze", "--person", "--html", str(report), "--with-photo",
                   *map(str, one_person)])  # fmt: skip

    page = report.read_text(encoding="utf-8")
    assert status == 0
    assert page.count('<article class="card') == 1
    assert "2 of 2 photos agree" in page and "corrupt_image" in page
    agreement = page[page.index('<section class="block agreement">') :]
    assert agreement[: agreement.index("</section>")].count("<img") == 2  # the two that decode
