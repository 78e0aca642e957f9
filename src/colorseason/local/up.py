"""`colorseason up`: the whole event-driven system on one machine, driven by ``eventing/*.yaml``.

One process tree, started in dependency order and stopped in reverse:

1. Redis and PostgreSQL: ``REDIS_URL`` / ``DATABASE_URL`` when set, else the embedded real servers
   (:mod:`colorseason.local.embedded`).
2. The local broker (:mod:`colorseason.local.broker`) on this process's threads, its socket bound
   first so that its ingress URL can be each function's ``K_SINK``.
3. The three functions, each on its own loopback port as its image runs it
   (``functions/serve.py``: gunicorn, or granian for status, with the settings in
   ``functions/<name>/``: workers, threads, timeouts); ``up`` waits for every
   ``/health/readiness``.
4. The web page (:mod:`colorseason.local.webpage`), served here with ``/config.json`` naming the
   function URLs and ``/i18n.json`` carrying the report's words from :mod:`colorseason.i18n`.

Ports: ``--port P`` puts the web page on P, the broker on P+1 and analyze, status, results on
P+2, P+3, P+4; ``--port 0`` picks free ports for all (what tests use). Only when everything
answers are the URLs printed and, with ``--urls FILE``, written as JSON. Ctrl-C or SIGTERM stops
the functions, the broker and the embedded servers, removes their temporary directories and the
URLs file: only a ``--database-dir`` the user chose stays on disk. ``up`` returns only once every
process it started (function workers, embedded servers) has exited.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

import yaml

import colorseason
from colorseason.local.broker import Broker, BrokerIngress, load_topology, read_manifests
from colorseason.local.servers import free_port
from colorseason.local.serving import address_family, bind_host, host_port, local_url, serving
from colorseason.local.webpage import WebPageServer

log = logging.getLogger(__name__)

FUNCTIONS: tuple[str, ...] = ("analyze", "status", "results")
READY_TIMEOUT_SECONDS = 300.0
"""How long the functions may take to become ready (analyze loads its model on a slow machine)."""
STOP_TIMEOUT_SECONDS = 15.0
"""How long a function may take to stop after SIGTERM before it is killed."""

_SOURCE_ROOT = Path(colorseason.__file__).resolve().parents[2]


def functions_dir() -> Path:
    """Where ``<name>/main.py`` live: ``COLORSEASON_FUNCTIONS_DIR``, else the source checkout's."""
    return Path(os.environ.get("COLORSEASON_FUNCTIONS_DIR") or _SOURCE_ROOT / "functions")


def eventing_dir() -> Path:
    """Where the Broker and Triggers live: ``COLORSEASON_EVENTING_DIR``, else the checkout's."""
    return Path(os.environ.get("COLORSEASON_EVENTING_DIR") or _SOURCE_ROOT / "eventing")


@dataclass(frozen=True)
class Urls:
    """What ``--urls`` writes: where a client, a producer or a test finds each part."""

    web: str
    broker: str
    analyze: str
    status: str
    results: str


class StartupError(RuntimeError):
    """Something the user can fix (a port in use, a checkout missing): reported in one line."""


# --- ports, stores and processes -----------------------------------------------------------------


def _check_free(host: str, port: int, name: str) -> None:
    with socket.socket(address_family(host)) as probe:
        try:
            probe.bind((bind_host(host), port))
        except OSError as error:
            raise StartupError(
                f"port {port} ({name}) is not available: {error.strerror}; "
                "choose another --port, or --port 0 for free ports"
            ) from None


@dataclass(frozen=True)
class _StoreUrls:
    redis: str
    jobs_redis: str
    database: str


@contextmanager
def _stores(database_dir: Path | None) -> Iterator[_StoreUrls]:
    """The stores' URLs: the environment's, else embedded servers stopped on exit.

    As in the functions' configuration, ``JOBS_REDIS_URL`` falls back to ``REDIS_URL``; with
    neither, job state gets an embedded Redis of its own with an append-only file.
    """
    from colorseason.local import embedded

    with ExitStack() as stack:
        redis_url = os.environ.get("REDIS_URL", "").strip()
        jobs_redis_url = os.environ.get("JOBS_REDIS_URL", "").strip() or redis_url
        if not redis_url:
            redis_url = embedded.start_redis()
            stack.callback(embedded.stop_redis)
            log.info("embedded redis started", extra={"url": redis_url, "persistent": False})
        if not jobs_redis_url:
            jobs_redis_url = embedded.start_redis(persistent=True)
            stack.callback(embedded.stop_redis, persistent=True)
            log.info("embedded redis started", extra={"url": jobs_redis_url, "persistent": True})
        database_url = os.environ.get("DATABASE_URL", "").strip()
        if not database_url:
            if database_dir is not None:
                database_dir.mkdir(parents=True, exist_ok=True)
            database_url = embedded.start_postgres(database_dir)
            stack.callback(embedded.stop_postgres)
            log.info("embedded postgresql started", extra={"data_dir": str(database_dir or "")})
        yield _StoreUrls(redis_url, jobs_redis_url, database_url)


def _spawn(name: str, host: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The function as its image serves it: functions/serve.py, which runs it under its server
    with the settings in its directory (gunicorn.conf.py or granian.conf.py).

    In a process group of its own, so a Ctrl-C reaches only `up`, which then stops the functions
    in order rather than all at once.
    """
    script, source = functions_dir() / "serve.py", functions_dir() / name / "main.py"
    for path in (script, source):
        if not path.is_file():
            raise StartupError(f"{path} not found: run from a source checkout of colorseason")
    command = [sys.executable, str(script), name, host_port(host, port)]
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, process_group=0)


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every function (its server stops its workers gracefully), SIGKILL what is still
    running after STOP_TIMEOUT_SECONDS, and return only once every process of theirs has exited,
    workers included."""
    import psutil

    tree: list[psutil.Process] = []
    for process in processes.values():
        with contextlib.suppress(psutil.Error):
            tree += psutil.Process(process.pid).children(recursive=True)
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("function did not stop; killing it", extra={"function": name})
            process.kill()
            process.wait()
    _, alive = psutil.wait_procs(tree, timeout=max(0.1, deadline - time.monotonic()))
    for leftover in alive:
        with contextlib.suppress(psutil.Error):
            leftover.kill()
    psutil.wait_procs(alive, timeout=5)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health/readiness", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(
    processes: dict[str, subprocess.Popen[bytes]], urls: dict[str, str], stop: threading.Event
) -> None:
    """Until every function answers its readiness probe; fails fast if one exits."""
    pending = set(processes)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while pending:
        for name in sorted(pending):
            code = processes[name].poll()
            if code is not None:
                raise StartupError(f"{name} exited with status {code} while starting (see above)")
            if _ready(urls[name]):
                pending.discard(name)
                log.info("function ready", extra={"function": name, "url": urls[name]})
        if pending and (stop.wait(0.25) or time.monotonic() > deadline):
            waiting = ", ".join(sorted(pending))
            raise StartupError(f"stopped before {waiting} became ready")


def _write_urls(path: Path, urls: Urls) -> None:
    """Atomically, so a script polling for the file never reads half of it."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(asdict(urls), indent=2) + "\n")
    partial.replace(path)


# --- run ----------------------------------------------------------------------------------------


def run(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    urls_file: Path | None = None,
    database_dir: Path | None = None,
) -> int:
    """Start everything, print the URLs, and serve until SIGINT/SIGTERM; the exit status.

    ``port`` is the web page's, the other parts follow it (0: free ports for all); ``urls_file``
    receives the URLs as JSON once everything answers; ``database_dir`` keeps the embedded
    PostgreSQL's data (default: a temporary directory).
    """
    from colorseason import logs

    logs.configure(os.environ.get("LOG_LEVEL", "INFO").upper())
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(stop, host, port, urls_file, database_dir)
    except StartupError as error:
        print(f"colorseason up: {error}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(
    stop: threading.Event,
    host: str,
    port: int,
    urls_file: Path | None,
    database_dir: Path | None,
) -> int:
    try:
        manifests = read_manifests(eventing_dir())
    except yaml.YAMLError as error:
        raise StartupError(f"cannot read {eventing_dir()}: {error}") from None
    if not manifests:
        raise StartupError(f"no manifests in {eventing_dir()}: run from a source checkout")

    if port:
        for offset, name in enumerate(("web", "broker", *FUNCTIONS)):
            _check_free(host, port + offset, name)
    ports = {name: port + 2 + i if port else free_port(host) for i, name in enumerate(FUNCTIONS)}
    function_urls = {name: local_url(host, p) for name, p in ports.items()}

    processes: dict[str, subprocess.Popen[bytes]] = {}
    with ExitStack() as stack:  # unwinds in reverse: web, broker, functions, then the stores
        stores = stack.enter_context(_stores(database_dir))
        stack.callback(_stop, processes)
        try:
            broker = Broker(load_topology(manifests, function_urls))
        except (ValueError, KeyError) as error:
            raise StartupError(f"eventing manifests in {eventing_dir()}: {error}") from None
        stack.callback(broker.close)
        ingress = stack.enter_context(
            serving(BrokerIngress(broker, host, port + 1 if port else 0), "broker-ingress")
        )
        web = WebPageServer(host, port)
        web.configure(function_urls)
        stack.enter_context(serving(web, "web"))
        urls = Urls(web.url + "/", ingress.ingress_url(), **function_urls)

        origins = {web.url, web.url.replace("127.0.0.1", "localhost")}
        env = {
            **os.environ,
            "REDIS_URL": stores.redis,
            "JOBS_REDIS_URL": stores.jobs_redis,
            "DATABASE_URL": stores.database,
            "K_SINK": urls.broker,
            "STATUS_PUBLIC_URL": urls.status,
            "RESULTS_PUBLIC_URL": urls.results,
            "CORS_ALLOW_ORIGINS": ",".join(sorted(origins)),
            "PYTHONUNBUFFERED": "1",
        }
        for name in FUNCTIONS:
            processes[name] = _spawn(name, host, ports[name], {**env, "K_SERVICE": name})
        _wait_ready(processes, function_urls, stop)

        if urls_file is not None:
            _write_urls(urls_file, urls)
            stack.callback(urls_file.unlink, missing_ok=True)
        _announce(urls)
        return _serve(processes, stop)


def _announce(urls: Urls) -> None:
    lines = [f"  {name:<8} {url}" for name, url in asdict(urls).items()]
    print("colorseason is up:", *lines, "Stop with Ctrl-C.", sep="\n", flush=True)


def _serve(processes: dict[str, subprocess.Popen[bytes]], stop: threading.Event) -> int:
    """Until a signal (exit 0) or a function dies on its own (exit 1: the stack is incomplete)."""
    while not stop.wait(0.5):
        for name, process in processes.items():
            if process.poll() is not None:
                log.error("function exited", extra={"function": name, "status": process.returncode})
                return 1
    return 0
