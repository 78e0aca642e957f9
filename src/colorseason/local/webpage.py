"""The web page of ``colorseason up``: the files of ``colorseason/web_ui`` and the URLs they call.

Besides the page itself (plain HTML, CSS and JavaScript, no build step) it serves ``/config.json``
(where the functions are) and ``/i18n.json`` (the report's words from :mod:`colorseason.i18n`, so
the page and the CLI's report never disagree). The page calls the functions cross-origin like any
other client; its Content-Security-Policy allows exactly their origins.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from colorseason import i18n
from colorseason.errors import NotFoundError
from colorseason.local.serving import LocalServer

_WEB_FILES = {
    "/": "index.html",
    "/index.html": "index.html",
    "/app.js": "app.js",
    "/style.css": "style.css",
}


def _i18n_tables() -> dict[str, Any]:
    """The report's words for the page, from the one place they live."""
    return {
        "families": i18n.FAMILY_NAMES,
        "undertones": i18n.UNDERTONES,
        "dimensions": i18n.DIMENSIONS,
        "measurements": i18n.MEASUREMENTS,
        "palette": i18n.PALETTE,
        "metals": i18n.METALS,
        "references": i18n.LIGHT_REFERENCES,
        "quality": i18n.QUALITY_ADVICE,
        "errors": i18n.ERROR_MESSAGES,
        "text": i18n.TEXT,
    }


class _WebHandler(BaseHTTPRequestHandler):
    server: WebPageServer
    protocol_version = "HTTP/1.1"
    _head_only = False

    def do_HEAD(self) -> None:
        self._head_only = True
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/config.json":
            self._send(200, json.dumps(self.server.config).encode(), "application/json")
        elif path == "/i18n.json":
            tables = json.dumps(_i18n_tables(), ensure_ascii=False).encode()
            self._send(200, tables, "application/json; charset=utf-8")
        elif path in _WEB_FILES:
            name = _WEB_FILES[path]
            body = resources.files("colorseason.web_ui").joinpath(name).read_bytes()
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._send(200, body, f"{content_type}; charset=utf-8")
        else:
            problem = NotFoundError(f"no such page: {path[:200]}").to_problem(path[:200])
            self._send(404, json.dumps(problem).encode(), "application/problem+json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", self.server.content_security_policy)
        self.end_headers()
        if not self._head_only:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the access log: the functions log the requests that matter."""


class WebPageServer(LocalServer):
    """Serves the page (package data ``colorseason/web_ui``) and the URLs it calls."""

    def __init__(self, host: str, port: int) -> None:
        self.config: dict[str, str] = {}
        self.content_security_policy = "default-src 'self'"
        super().__init__(host, port, _WebHandler)

    def configure(self, functions: Mapping[str, str]) -> None:
        """Tell the page where the functions are (their URLs by name); allow exactly those
        origins in its CSP."""
        self.config = dict(functions)
        origins = " ".join(sorted({_origin(u) for u in self.config.values()}))
        self.content_security_policy = (
            "default-src 'self'; "
            f"connect-src 'self' {origins}; "
            "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
