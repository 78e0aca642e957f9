"""The ``colorseason`` command: ``analyze`` photos here, or bring the whole system ``up`` locally.

``colorseason analyze PHOTO...`` prints a readable summary per photo (``--json``: one JSON object
per input per line, for scripts; ``--html FILE``: a self-contained visual report). Every input gets
an answer, failures included, and the exit status says whether all succeeded (0) or not (1);
usage mistakes exit 2. Errors print their stable code and message, never a traceback.

``colorseason analyze --person PHOTO...`` takes the photos (up to five) as photos of one person:
one combined diagnosis, with each photo's own line; ``--json`` prints one line whose ``input`` is
the list of the inputs, in the order of the result's ``photos``; the exit status is 0 when the
combined diagnosis succeeded (a photo may still have failed: its line says so).

``--sample NAME`` analyses a bundled test photo, which ships in a package of the dev dependency
group: without that package the command says which one to install and exits 1 before it analyses
anything.

Photos are read into memory and never written anywhere, except into the HTML report when the user
asks for it with ``--with-photo``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from colorseason import __version__, i18n
from colorseason.errors import ColorseasonError, NotFoundError

STDIN = "-"
SAMPLE_PREFIX = "sample:"
_BAR_HALF = 10  # cells on each side of a dimension bar's centre


@dataclass
class Outcome:
    """What became of one input (or, with ``--person``, of one person's photos together): a
    result or an error, never both."""

    label: str
    result: dict[str, Any] | None = None
    error: ColorseasonError | None = None
    data: list[bytes] = field(default_factory=list)  # the photos, kept only for --with-photo
    inputs: list[str] | None = None  # --person: each photo's label, as result["photos"] orders them

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` line for this input: ``input`` is its label, or the list of them."""
        name: str | list[str] = self.label if self.inputs is None else self.inputs
        if self.error is not None:
            return {"input": name, "ok": False, "error": self.error.to_dict()}
        return {"input": name, "ok": True, "result": self.result}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``colorseason`` script; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "analyze":
        if not args.photos and not args.sample:
            parser.error("analyze: give at least one PHOTO, '-' for stdin, or --sample NAME")
        if args.photos.count(STDIN) > 1:
            parser.error("analyze: '-' (stdin) can be given only once")
        if args.with_photo and not args.html:
            parser.error("analyze: --with-photo needs --html FILE")
        if args.person:
            from colorseason.analysis.person import MAX_PHOTOS

            if len(args.photos) + len(args.sample) > MAX_PHOTOS:
                parser.error(f"analyze: --person takes at most {MAX_PHOTOS} photos of one person")
        if args.sample:
            from colorseason.testing import SAMPLE_NAMES

            if unknown := sorted(set(args.sample) - set(SAMPLE_NAMES)):
                parser.error(
                    f"analyze: unknown --sample {', '.join(unknown)}; choose from "
                    f"{', '.join(SAMPLE_NAMES)}"
                )
            if missing := _missing_sample_package(args.sample):
                print(f"colorseason: {missing}", file=sys.stderr)
                return 1
    try:
        return args.handler(args)
    except BrokenPipeError:  # `colorseason analyze ... | head`: the reader left, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorseason",
        description="Personal colour (seasonal colour) diagnosis from a face photo.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = commands.add_parser(
        "analyze",
        help="diagnose one or more face photos",
        description="Diagnose face photos (JPEG, PNG or WebP). Exit status 0 when every input "
        "was analysed, 1 otherwise.",
    )
    analyze.add_argument("photos", nargs="*", metavar="PHOTO", help="image file, or - for stdin")
    analyze.add_argument(
        "--sample",
        action="append",
        default=[],
        metavar="NAME",
        help="analyse a bundled test photo: astronaut or grace_hopper (repeatable)",
    )
    analyze.add_argument(
        "--face",
        type=_face_number,
        metavar="N",
        help="in group photos, analyse face N of every photo given: faces are numbered left to "
        "right from 0 (default: the largest face); a photo without face N fails with "
        "face_not_found",
    )
    analyze.add_argument(
        "--person",
        action="store_true",
        help="the photos (up to five) are of one person: one diagnosis from them together, "
        "with each photo's own",
    )
    analyze.add_argument("--json", action="store_true", help="one JSON object per input per line")
    analyze.add_argument("--html", metavar="FILE", type=Path, help="write a visual HTML report")
    analyze.add_argument(
        "--with-photo", action="store_true", help="embed the photos in the HTML report"
    )
    analyze.add_argument(
        "--lang", choices=i18n.LANGUAGES, default="en", help="language of human text"
    )
    analyze.set_defaults(handler=_analyze_command)

    up = commands.add_parser(
        "up",
        help="run the whole system locally (functions, broker, stores, web page)",
        description="Start Redis, PostgreSQL, the three functions, the local broker and the web "
        "page on this machine; stop with Ctrl-C.",
    )
    up.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    up.add_argument(
        "--port", type=int, default=8080, help="web page port; the other services follow it"
    )
    up.add_argument("--urls", metavar="FILE", type=Path, help="write the service URLs as JSON")
    up.add_argument(
        "--database-dir",
        metavar="DIR",
        type=Path,
        help="keep the embedded PostgreSQL data here (default: a temporary directory)",
    )
    up.set_defaults(handler=_up_command)
    return parser


def _face_number(value: str) -> int:
    """``--face``: a non-negative integer."""
    if not (value.isascii() and value.isdigit()):
        raise argparse.ArgumentTypeError(f"must be a face number (0, 1, 2 ...), not {value!r}")
    return int(value)


def _up_command(args: argparse.Namespace) -> int:
    # Imported here: the local stack pulls in servers the analyze command never needs.
    from colorseason.local.up import run

    return run(host=args.host, port=args.port, urls_file=args.urls, database_dir=args.database_dir)


def _analyze_command(args: argparse.Namespace) -> int:
    # Imported here so `--help` and `up` do not pay for loading OpenCV and MediaPipe.
    from colorseason.analysis import analyze, analyze_person

    inputs: list[tuple[str, Callable[[], bytes]]]
    inputs = [(photo, partial(_read_file, photo)) for photo in args.photos]
    inputs += [(SAMPLE_PREFIX + name, partial(_read_sample, name)) for name in args.sample]
    if args.person:
        labels = [label for label, _ in inputs]
        outcome = _run_one(
            " + ".join(labels),
            [read for _, read in inputs],
            lambda photos: analyze_person(photos, faces=[args.face] * len(photos)),
        )
        outcome.inputs = labels
        outcomes = [_keep_photos(outcome, args)]
        _print_outcome(outcome, args)
    else:
        outcomes = _analyze_each(inputs, partial(analyze, face=args.face), args)

    status = 0 if all(outcome.error is None for outcome in outcomes) else 1
    if args.html:
        status = max(status, _write_html(args.html, outcomes, args.lang))
    return status


def _analyze_each(
    inputs: list[tuple[str, Callable[[], bytes]]],
    analyze: Callable[[bytes], dict[str, Any]],
    args: argparse.Namespace,
) -> list[Outcome]:
    """Every input on its own, printed as it is done."""
    progress = _Progress(len(inputs), args.lang, sys.stderr) if len(inputs) > 1 else None
    outcomes = []
    for index, (label, read) in enumerate(inputs):
        if progress:
            progress.draw(index, label)
        outcome = _keep_photos(_run_one(label, [read], lambda photos: analyze(photos[0])), args)
        outcomes.append(outcome)
        if progress:
            progress.clear()
        _print_outcome(outcome, args)
    if progress:
        progress.finish(sum(outcome.error is None for outcome in outcomes))
    return outcomes


def _keep_photos(outcome: Outcome, args: argparse.Namespace) -> Outcome:
    """The photos stay in memory only for a report that embeds them."""
    if not (args.html and args.with_photo):
        outcome.data = []
    return outcome


def _read_file(name: str) -> bytes:
    """The bytes of a file, or of stdin for ``-``."""
    if name == STDIN:
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"No such file: {name}") from exc
    except OSError as exc:
        raise ColorseasonError(f"Cannot read {name}: {exc.strerror or exc}") from exc


def _missing_sample_package(names: Sequence[str]) -> str | None:
    """What to install for the first of these samples whose package is missing, else None."""
    from colorseason.testing import SAMPLE_PACKAGES, sample_bgr

    for name in names:
        try:
            sample_bgr(name)  # loaded once: reading the input later takes it from the cache
        except ImportError:
            package = SAMPLE_PACKAGES[name]
            return (
                f"--sample {name} needs {package}, which comes with the dev dependency group "
                f"(`uv sync` in a checkout, or `pip install {package}`); or analyse a photo of "
                "your own"
            )
    return None


def _read_sample(name: str) -> bytes:
    """A bundled test photo (from scikit-image / matplotlib package data) as JPEG bytes."""
    from colorseason.testing import sample_jpeg

    return sample_jpeg(name)


def _run_one(
    label: str,
    reads: list[Callable[[], bytes]],
    diagnose: Callable[[list[bytes]], dict[str, Any]],
) -> Outcome:
    try:
        data = [read() for read in reads]
        return Outcome(label, result=diagnose(data), data=data)
    except ColorseasonError as exc:
        return Outcome(label, error=exc)
    except Exception as exc:  # the CLI promises a code and message, never a traceback
        return Outcome(label, error=ColorseasonError(f"{type(exc).__name__}: {exc}"))


def _print_outcome(outcome: Outcome, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False), flush=True)
    elif outcome.error is not None:
        message = i18n.error_message(outcome.error.to_dict(), args.lang)
        error = i18n.text("error", args.lang)
        print(f"{outcome.label}\n  {error} {outcome.error.code}: {message}\n", flush=True)
    else:
        width = min(shutil.get_terminal_size((100, 24)).columns, 120)
        summary = format_summary(
            outcome.label, outcome.result or {}, args.lang, _use_colour(), width, outcome.inputs
        )
        print(summary)
        print(flush=True)


def _write_html(path: Path, outcomes: list[Outcome], lang: str) -> int:
    from colorseason.report import render_html

    items = [
        (o.label, {"error": o.error.to_dict()} if o.error is not None else (o.result or {}))
        for o in outcomes
    ]
    photos: dict[str, bytes] = {}
    for outcome in outcomes:
        if outcome.error is None:
            photos.update(zip(outcome.inputs or [outcome.label], outcome.data, strict=False))
    photo_labels = {o.label: o.inputs for o in outcomes if o.inputs is not None}
    try:
        html = render_html(items, lang=lang, photos=photos, photo_labels=photo_labels)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        print(f"colorseason: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"colorseason: report written to {path}", file=sys.stderr)
    return 0


# --- the human-readable summary -------------------------------------------------------------


def _use_colour() -> bool:
    """Colour swatches only on a terminal that wants them (https://no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _width(text: str) -> int:
    """Terminal cells taken by ``text`` (Hangul and other wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, cells: int) -> str:
    return text + " " * max(0, cells - _width(text))


def _swatch(hex_colour: str, colour: bool) -> str:
    if not colour or len(hex_colour) != 7:
        return ""
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"\x1b[48;2;{red};{green};{blue}m    \x1b[0m "


def _bar(value: float) -> str:
    """A value in [-1, 1] as cells growing left or right from a centre mark."""
    cells = round(min(1.0, abs(value)) * _BAR_HALF)
    left = "·" * (_BAR_HALF - cells) + "█" * cells if value < 0 else "·" * _BAR_HALF
    right = "█" * cells + "·" * (_BAR_HALF - cells) if value > 0 else "·" * _BAR_HALF
    return f"{left}│{right}"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def _wrap(text: str, cells: int, indent: str) -> list[str]:
    """``text`` broken at spaces into lines of at most ``cells`` terminal cells."""
    lines = [""]
    for word in text.split(" "):
        candidate = f"{lines[-1]} {word}" if lines[-1].strip() else lines[-1] + word
        if _width(candidate) > cells and lines[-1].strip():
            lines.append(indent + word)
        else:
            lines[-1] = candidate
    return lines


def format_summary(
    label: str,
    result: dict[str, Any],
    lang: str = "en",
    colour: bool = False,
    width: int = 100,
    photo_labels: Sequence[str] | None = None,
) -> str:
    """The readable summary of one result, as printed by ``colorseason analyze``.

    A result of several photos of one person also says how far they agree and gives each photo's
    line, named by ``photo_labels`` (else numbered). Long lines (advice, timings) wrap at
    ``width`` terminal cells.
    """
    probabilities = result.get("probabilities", {})
    season, second = result["season"], result["second_season"]
    rows: list[tuple[str, str]] = []

    def name(season_object: dict[str, Any]) -> str:
        names = season_object.get("name") or {}
        return names.get(lang) or i18n.season_name(season_object.get("id", ""), lang)

    for key, season_object in (("season", season), ("runner_up", second)):
        share = _percent(probabilities.get(season_object["id"], 0))
        rows.append((i18n.text(key, lang), f"{name(season_object)}  {share}"))
    families = result.get("families", {})
    rows.append(
        (
            i18n.text("families", lang),
            " · ".join(f"{i18n.family_name(f, lang)} {_percent(p)}" for f, p in families.items()),
        )
    )
    if agreement := i18n.agreement_summary(result.get("agreement") or {}, lang):
        rows.append((i18n.text("photos", lang), agreement))
        for number, photo in enumerate(result.get("photos") or []):
            photo_name = (
                photo_labels[number]
                if photo_labels and number < len(photo_labels)
                else i18n.text("photo_number", lang).format(number=number + 1)
            )
            rows.append(("", f"{photo_name}: {i18n.photo_summary(photo, lang)}"))
    if face := i18n.face_summary(result.get("faces") or {}, lang):
        rows.append((i18n.text("face", lang), face))
    undertone = i18n.undertone_name(result.get("undertone", ""), lang)
    rows.append((i18n.text("undertone", lang), undertone))
    dimensions = result.get("dimensions", {})
    for key, names in i18n.DIMENSIONS.items():
        if key in dimensions:
            title, low, high = names[lang]
            value = float(dimensions[key])
            rows.append((title, f"{_pad(low, 8)} {_bar(value)} {_pad(high, 8)} {value:+.2f}"))
    measurements = result.get("measurements", {})
    for part, part_names in i18n.MEASUREMENTS.items():
        if part in measurements:
            hex_colour = str(measurements[part].get("hex", ""))
            lab = " ".join(f"{float(v):5.1f}" for v in measurements[part].get("lab", []))
            rows.append(
                (part_names[lang], f"{_swatch(hex_colour, colour)}{hex_colour}  L*a*b* {lab}")
            )
    if light := i18n.light_summary(result, lang):
        rows.append((i18n.text("light", lang), light))
    quality = result.get("quality", {})
    rows.append((i18n.text("quality", lang), _percent(float(quality.get("score", 0)))))
    for issue in quality.get("issues") or []:
        rows.append(("", f"! {issue.get('code', '')}: {i18n.quality_advice(issue, lang)}"))
    rows.append((i18n.text("confidence", lang), _percent(float(result.get("confidence", 0)))))
    version = (result.get("model") or {}).get("version", "?")
    faces = (result.get("faces") or {}).get("count", "?")
    rows.append((i18n.text("model", lang), f"{version} · {i18n.text('faces', lang)}: {faces}"))
    timings = result.get("timings_ms") or {}
    if timings:
        # No-break spaces keep each "stage ms" pair on one line when the row wraps.
        timing_text = " · ".join(f"{stage}\u00a0{float(ms):.1f}" for stage, ms in timings.items())
        rows.append((i18n.text("timings", lang), f"{timing_text} ms"))

    label_cells = max(_width(title) for title, _ in rows) + 2
    lines = [label]
    for title, text in rows:
        hanging = "  " if text.startswith("! ") else ""
        for number, line in enumerate(_wrap(text, max(20, width - label_cells - 2), hanging)):
            lines.append(f"  {_pad(title if number == 0 else '', label_cells)}{line}")
    return "\n".join(lines)


# --- progress -----------------------------------------------------------------------------------


class _Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, one line per photo
    otherwise (so logs stay readable)."""

    def __init__(self, total: int, lang: str, stream: TextIO) -> None:
        self.total = total
        self.lang = lang
        self.stream = stream
        self.live = stream.isatty()

    def draw(self, done: int, label: str) -> None:
        if self.live:
            filled = round(20 * done / self.total)
            bar = "#" * filled + "-" * (20 - filled)
            self.stream.write(f"\r[{bar}] {done}/{self.total} {label[-40:]}\x1b[K")
        else:
            self.stream.write(f"[{done + 1}/{self.total}] {label}\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def finish(self, succeeded: int) -> None:
        summary = i18n.text("summary", self.lang).format(ok=succeeded, total=self.total)
        self.stream.write(f"{summary}\n")
        self.stream.flush()


if __name__ == "__main__":
    sys.exit(main())
