"""The photo never touches a disk: the pipeline opens no file for writing."""

from __future__ import annotations

import os
import sys

from colorseason.analysis import analyze, warm_up
from colorseason.testing import sample_jpeg

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_watching: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    if not _watching or event != "open":
        return
    path, mode, flags = args
    writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & _WRITE_FLAGS
    )
    if writes:
        _watching[-1].append(str(path))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it only records while a test watches


def test_analysis_writes_no_file() -> None:
    photo = sample_jpeg("grace_hopper", megapixels=2.0)
    warm_up()
    opened_for_writing: list[str] = []
    _watching.append(opened_for_writing)
    try:
        analyze(photo)
        analyze(sample_jpeg("astronaut"))
    finally:
        _watching.pop()
    assert opened_for_writing == []


def test_the_audit_hook_sees_writes(tmp_path) -> None:  # the test above can fail
    seen: list[str] = []
    _watching.append(seen)
    try:
        (tmp_path / "probe.bin").write_bytes(b"x")
    finally:
        _watching.pop()
    assert any(path.endswith("probe.bin") for path in seen)
