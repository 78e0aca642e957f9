"""The photo never touches a disk: the pipeline opens no file for writing; nothing phones home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def _run_with_empty_home(home: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose home, temp and XDG directories are all ``home``.

    The environment is built from nothing, so no inherited cache path (MPLCONFIGDIR, an
    ORT_DISABLE_TELEMETRY of the caller's) can send writes elsewhere or hide them.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_RUNTIME_DIR": str(home / "run"),
    }
    command = [sys.executable, "-c", code]
    return subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=180)


def _written(home: Path) -> list[str]:
    return sorted(str(path.relative_to(home)) for path in home.rglob("*"))


def test_a_real_analysis_writes_nothing_at_all(tmp_path: Path) -> None:
    """Native code included: onnxruntime's 1DS telemetry would leave ~/.cache/Microsoft/... here."""
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "from colorseason.cli import main\n"
        "raise SystemExit(main(['analyze', '--json', '--sample', 'astronaut']))"
    )
    done = _run_with_empty_home(home, code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    assert _written(home) == []


def test_the_empty_home_sees_native_writes(tmp_path: Path) -> None:  # the test above can fail
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import os, sqlite3\n"
        "sqlite3.connect(os.path.expanduser('~/.cache/probe.db')).execute('create table t (x)')"
    )
    (home / ".cache").mkdir()
    assert _run_with_empty_home(home, code).returncode == 0
    assert _written(home) == [".cache", ".cache/probe.db"]
