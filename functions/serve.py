"""Serve one function as its image does: the image's command, and `colorseason up`'s and bench/'s.

    python functions/serve.py NAME [HOST:PORT]      (default ``:$PORT``, all interfaces)

functions-framework loads ``functions/NAME/main.py`` (its ``main``) under the server whose
settings file the function has: ``gunicorn.conf.py`` (analyze, results) or ``granian.conf.py``
(status, whose polls need a server that parses HTTP outside Python; see that file). Runs in this
process, so whatever imported this script (a test's import guard) also holds in the server.
"""

from __future__ import annotations

import inspect
import os
import runpy
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parent
APP = "functions_framework:create_app"


def _host_port(bind: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (every IPv4 interface, as gunicorn has it)."""
    host, _, port = bind.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


def _log_level() -> str:
    """The server logs at the function's own LOG_LEVEL (colorseason.config)."""
    return os.environ.get("LOG_LEVEL", "").strip().lower() or "info"


def _gunicorn(settings: Path, bind: str) -> None:
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", "--config", str(settings), "--bind", bind]
    sys.argv += ["--log-level", _log_level(), f"{APP}()"]
    run()


def _granian(settings: Path, bind: str) -> None:
    from granian import Granian

    chosen = runpy.run_path(str(settings))
    options = {k: v for k, v in chosen.items() if k in inspect.signature(Granian).parameters}
    options.setdefault("log_level", _log_level())
    host, port = _host_port(bind)
    Granian(APP, address=host, port=port, interface="wsgi", factory=True, **options).serve()


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        sys.exit("usage: " + __doc__.splitlines()[2].strip())
    name = argv[1]
    bind = argv[2] if len(argv) == 3 else f":{os.environ.get('PORT', '8080')}"
    directory = FUNCTIONS / name
    if not (directory / "main.py").is_file():
        sys.exit(f"no function {name!r} in {FUNCTIONS}")
    os.environ["FUNCTION_TARGET"] = "main"
    os.environ["FUNCTION_SOURCE"] = str(directory / "main.py")
    if (directory / "granian.conf.py").is_file():
        _granian(directory / "granian.conf.py", bind)
    else:
        _gunicorn(directory / "gunicorn.conf.py", bind)


if __name__ == "__main__":
    main(sys.argv)
