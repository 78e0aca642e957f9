"""The analysis pipeline: one face photo in, a seasonal colour diagnosis out.

Public API::

    analyze(data: bytes, *, correct_illumination=True) -> dict   # the result JSON
    warm_up() -> None                                            # load model and graphs now
    MODEL_VERSION: str

Bad photos raise ``colorseason.errors.ColorseasonError`` subclasses with stable codes.
Stages, one module each: decode → landmarks → regions → illumination → features → model →
palette / quality; ``pipeline`` strings them together.
"""

from colorseason.analysis.model import MODEL_VERSION
from colorseason.analysis.pipeline import analyze, warm_up

__all__ = ["MODEL_VERSION", "analyze", "warm_up"]
