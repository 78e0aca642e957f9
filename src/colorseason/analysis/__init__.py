"""The analysis pipeline: one face photo in, a seasonal colour diagnosis out.

Public API::

    analyze(data: bytes, *, face=None, correct_illumination=True) -> dict   # the result JSON
    analyze_person(photos: list[bytes], *, faces=None) -> dict   # 1-5 photos of one person
    warm_up() -> None                                            # load model and graphs now
    sniff_format(data: bytes) -> str                             # "jpeg" | "png" | "webp"
    MODEL_VERSION: str

Bad photos raise ``colorseason.errors.ColorseasonError`` subclasses with stable codes.
Stages, one module each, in the order they run: decode → landmarks → regions → illumination
(with ``references``) → features → quality → model → palette; ``pipeline`` strings them together
for one photo, and ``person`` combines several photos of one person.

The public names load on first use (MediaPipe and onnxruntime take about a second), so that
``decode.validate`` can be imported alone: analyze's ``POST /jobs`` checks uploads with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from colorseason.analysis.decode import sniff_format
    from colorseason.analysis.model import MODEL_VERSION
    from colorseason.analysis.person import analyze_person
    from colorseason.analysis.pipeline import analyze, warm_up

__all__ = ["MODEL_VERSION", "analyze", "analyze_person", "sniff_format", "warm_up"]


def __getattr__(name: str) -> Any:
    if name == "MODEL_VERSION":
        from colorseason.analysis import model

        return model.MODEL_VERSION
    if name in ("analyze", "warm_up"):
        from colorseason.analysis import pipeline

        return getattr(pipeline, name)
    if name == "analyze_person":
        from colorseason.analysis import person

        return person.analyze_person
    if name == "sniff_format":
        from colorseason.analysis import decode

        return decode.sniff_format
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
