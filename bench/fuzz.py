"""Fuzz the three functions over HTTP: mutated photos and malformed events; count 5xx and crashes.

    uv run python bench/fuzz.py [--photos N] [--events N] [--clients N] [--seed N]

The whole system runs as `colorseason up` does it (real servers on loopback ports, the local
broker, Redis and PostgreSQL: ``REDIS_URL`` / ``DATABASE_URL`` when set, else the embedded ones),
so a photo accepted by ``POST /jobs`` also reaches analyze's event path through the broker.

- photos (default 100,000): real photos from ``colorseason.testing`` in JPEG, PNG and WebP, each
  mutated by bit flips, truncation, splices (two photos, any formats), header corruption (random
  bytes, and width/height fields set to 0, 1, huge) or replaced by random bytes behind a real
  magic number; sent as an ``image/*`` body (declared type right or wrong) or multipart, to
  ``POST /`` and ``POST /jobs`` in turn.
- events (default 100,000), to all three functions (status also at ``/deadletter``): structured
  and binary mode, garbled JSON, wrong attribute types, bad job ids (short, upper case, canonical
  UUID form, newline), wrong and missing content types, huge and garbled data, schema-breaking
  data, duplicates of valid events.

Counted: answers >= 500 as the client saw them, requests with no answer at all (reset, timeout),
answers >= 500 the functions logged (their answers to the broker's deliveries included: every
function logs a 5xx at WARNING), unhandled exceptions, and worker crashes (a gunicorn or
granian worker that died and was replaced, or that its server reported). It waits for the queued
jobs to drain, then checks every function is still ready. It prints counts, rates and the
machine; it passes or fails nothing.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import itertools
import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from colorseason.analysis.formats import IMAGE_MEDIA_TYPES, MAX_IMAGE_BYTES
from functions import machine  # bench/functions.py

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("analyze", "status", "results")
HUGE_BYTES = MAX_IMAGE_BYTES + 1024 * 1024  # over the default MAX_UPLOAD_BYTES
CONTENT_TYPES = (
    "text/plain", "application/cloudevents-batch+json", "image/jpeg", "multipart/form-data",
    "application/cloudevents+json; charset=latin-1", "",
)  # fmt: skip

# --- the system under test ----------------------------------------------------------------------


@dataclass
class System:
    urls: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]

    def workers(self) -> dict[str, set[int]]:
        """The worker pids of each function (children of its gunicorn or granian process)."""
        found: dict[str, set[int]] = {}
        for arbiter in psutil.Process(self.process.pid).children():
            try:
                name = _function_of(arbiter.cmdline())
                if name:
                    found[name] = {worker.pid for worker in arbiter.children()}
            except psutil.Error:
                continue
        return found


def _function_of(cmdline: list[str]) -> str | None:
    """The function a process of `up` serves (functions/serve.py NAME ...), or None."""
    for script, name in itertools.pairwise(cmdline):
        if script.endswith("functions/serve.py") and name in FUNCTIONS:
            return name
    return None


@contextmanager
def running_system(workdir: Path) -> Iterator[System]:
    """`colorseason up --port 0 --urls FILE`, stopped with SIGTERM when the block ends."""
    from colorseason.local.servers import start_up

    env = {**os.environ, "LOG_LEVEL": "WARNING", "DATABASE_SCHEMA": "fuzz_" + uuid.uuid4().hex[:8]}
    process, urls = start_up(workdir, env)
    try:
        yield System(urls, workdir / "up.log", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


# --- photos -------------------------------------------------------------------------------------


def base_photos() -> list[tuple[str, bytes]]:
    """Every sample photo in every accepted type, at full size and at 60 %."""
    from colorseason.testing import SAMPLE_NAMES, downscale, encode, sample_bgr

    photos = []
    for name in SAMPLE_NAMES:
        for image in (sample_bgr(name), downscale(sample_bgr(name), 0.6)):
            for fmt, media_type in zip((".jpg", ".png", ".webp"), IMAGE_MEDIA_TYPES, strict=True):
                photos.append((media_type, encode(image, fmt)))
    return photos


def _flip_bits(rng: random.Random, data: bytes, _: list[tuple[str, bytes]]) -> bytes:
    mutated = bytearray(data)
    for _ in range(rng.choice((1, 2, 4, 8, 32, 256))):
        position = rng.randrange(len(mutated))
        mutated[position] ^= 1 << rng.randrange(8)
    return bytes(mutated)


def _truncate(rng: random.Random, data: bytes, _: list[tuple[str, bytes]]) -> bytes:
    return data[: rng.choice((0, 1, 2, 3, 8, 12, 30, 100, rng.randrange(len(data))))]


def _splice(rng: random.Random, data: bytes, photos: list[tuple[str, bytes]]) -> bytes:
    other = rng.choice(photos)[1]
    cut, other_cut = rng.randrange(len(data)), rng.randrange(len(other))
    if rng.random() < 0.5:
        return data[:cut] + other[other_cut:]
    return data[:cut] + other[other_cut : other_cut + rng.randrange(1, 4096)] + data[cut:]


def _size_fields(data: bytes) -> list[tuple[int, int, str]]:
    """(offset, length, byte order) of the width and height fields in a photo's header."""
    if data.startswith(b"\x89PNG"):
        return [(16, 4, "big"), (20, 4, "big")]
    if data.startswith(b"RIFF"):  # lossy VP8, which is what the samples are
        return [(26, 2, "little"), (28, 2, "little")]
    frame = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
    return [(frame + 5, 2, "big"), (frame + 7, 2, "big")] if frame >= 0 else []


def _corrupt_header(rng: random.Random, data: bytes, _: list[tuple[str, bytes]]) -> bytes:
    mutated = bytearray(data)
    fields = _size_fields(data)
    if fields and rng.random() < 0.5:  # a width or height of 0, 1, just too small, or huge
        offset, length, order = rng.choice(fields)
        value = rng.choice((0, 1, 63, 0x3FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)) % (256**length)
        mutated[offset : offset + length] = value.to_bytes(length, order)
        return bytes(mutated)
    start = rng.randrange(min(len(mutated), 64))
    for position in range(start, min(len(mutated), start + rng.randrange(1, 64))):
        mutated[position] = rng.randrange(256)
    return bytes(mutated)


def _random_bytes(rng: random.Random, data: bytes, _: list[tuple[str, bytes]]) -> bytes:
    magic = data[:12] if rng.random() < 0.7 else b""
    return magic + rng.randbytes(rng.choice((0, 10, 100, 5000, 100_000)))


MUTATIONS: dict[str, Callable[[random.Random, bytes, list[tuple[str, bytes]]], bytes]] = {
    "bit flips": _flip_bits,
    "truncation": _truncate,
    "splice": _splice,
    "header corruption": _corrupt_header,
    "random bytes": _random_bytes,
}


def photo_requests(count: int, seed: int) -> Iterator[tuple[str, str, str, bytes, dict[str, str]]]:
    """(mutation, function, path, body, headers) for ``count`` mutated photos."""
    rng = random.Random(seed)
    photos = base_photos()
    names = list(MUTATIONS)
    for index in range(count):
        mutation = names[index % len(names)]
        media_type, data = rng.choice(photos)
        body = MUTATIONS[mutation](rng, data, photos)
        declared = (
            media_type if rng.random() < 0.8 else rng.choice((*IMAGE_MEDIA_TYPES, "image/gif"))
        )
        path = "/" if index % 2 == 0 else "/jobs"
        if rng.random() < 0.15:
            boundary = uuid.uuid4().hex
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                    f'filename="photo"\r\nContent-Type: {declared}\r\n\r\n'
                ).encode()
                + body
                + f"\r\n--{boundary}--\r\n".encode()
            )
            headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        else:
            headers = {"Content-Type": declared}
        yield mutation, "analyze", path, body, headers


# --- events -------------------------------------------------------------------------------------

JOB = "0123456789abcdef0123456789abcdef"
BAD_JOB_IDS = (
    "", "short", JOB.upper(), str(uuid.UUID(JOB)), JOB + "0", JOB + "\n", "../" + JOB,
    "%00" * 8, "🙂" * 32, None, 42, [JOB],
)  # fmt: skip


def _valid_events() -> list[tuple[str, dict[str, Any]]]:
    """(function, structured event) pairs that the contract accepts, to mutate and duplicate."""
    from colorseason import events
    from colorseason.analysis import analyze
    from colorseason.testing import sample_jpeg

    job = uuid.uuid4().hex
    result = analyze(sample_jpeg())
    made = [
        ("analyze", events.requested(job, claim_key="colorseason:claim:" + job)),
        ("analyze", events.requested(job, image=sample_jpeg(), content_type="image/jpeg")),
        ("status", events.started(job)),
        ("status", events.failed(job, "no_face", "none")),
        ("status", events.completed(job, result, "http://results.test/results/" + job)),
        ("status", events.deleted(job)),
        ("results", events.completed(job, result)),
        ("results", events.purge()),
        ("results", events.purge("2001-01-01T00:00:00Z")),
    ]
    return [(name, _structured(event)) for name, event in made]


def _structured(event: Any) -> dict[str, Any]:
    attributes = dict(event.get_attributes())
    attributes["data"] = event.data
    return attributes


def _garble(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """A value of a wrong type, a broken string, or something deep or big."""
    choices: list[Any] = [
        None, True, 0, -1, 2**70, 1e308, "", " ", "\x00", "\ud800", "\n" * 3, [], {}, "A" * 5000,
        [value], {"nested": value}, rng.randbytes(12).hex(),
    ]  # fmt: skip
    if depth < 3 and rng.random() < 0.1:
        return {"deep": _garble(rng, value, depth + 1)}
    return rng.choice(choices)


def _mutate_event(rng: random.Random, event: dict[str, Any]) -> dict[str, Any]:
    mutated = json.loads(json.dumps(event))
    kind = rng.randrange(6)
    if kind == 0:  # drop a required attribute
        mutated.pop(rng.choice(("specversion", "id", "source", "type", "subject")), None)
    elif kind == 1:  # an attribute of the wrong type
        name = rng.choice(("specversion", "id", "source", "type", "subject", "dataschema"))
        mutated[name] = _garble(rng, mutated.get(name))
    elif kind == 2:  # a bad job id where the contract wants one
        bad = rng.choice(BAD_JOB_IDS)
        if rng.random() < 0.5 or not isinstance(mutated.get("data"), dict):
            mutated["subject"] = bad
        else:
            mutated["data"]["job_id"] = bad
    elif kind == 3 and isinstance(mutated.get("data"), dict) and mutated["data"]:  # bad data
        key = rng.choice(list(mutated["data"]))
        mutated["data"][key] = _garble(rng, mutated["data"][key])
    elif kind == 4:  # data that is not an object
        mutated["data"] = _garble(rng, mutated.get("data"))
    else:  # an unknown or neighbouring type
        mutated["type"] = rng.choice(
            ("dev.colorseason.analysis", "dev.colorseason.analysis.requested.v2", "com.example",
             "dev.colorseason.results.stored", "DEV.COLORSEASON.ANALYSIS.STARTED")
        )  # fmt: skip
    return mutated


def _binary_mode(event: dict[str, Any], rng: random.Random) -> tuple[bytes, dict[str, str]]:
    headers = {}
    for name, value in event.items():
        if name != "data":
            text = value if isinstance(value, str) else json.dumps(value)
            text = text.replace("\r", "").replace("\n", "")  # http.client refuses them
            headers[f"ce-{name}"] = text.encode("utf-8", "surrogatepass").decode("latin-1")
    headers["Content-Type"] = rng.choice(
        ("application/json",) * 6 + ("text/plain", "application/xml", "image/png", "")
    )
    body = json.dumps(event.get("data")).encode("utf-8", "surrogatepass")
    return body, headers


def _raw_body(rng: random.Random) -> bytes:
    size = rng.choice((0, 1, 100, 10_000, 1_000_000))
    return rng.choice(
        (
            rng.randbytes(size),
            b"{" * size,
            b'{"specversion": "1.0", "data": ' + b"[" * min(size, 100_000),
            json.dumps([{"specversion": "1.0"}] * 3).encode(),
            b"\xff\xfe" + "not utf-8".encode("utf-16"),
        )
    )


def event_requests(count: int, seed: int) -> Iterator[tuple[str, str, str, bytes, dict[str, str]]]:
    """(kind, function, path, body, headers) for ``count`` malformed (or duplicate) events."""
    rng = random.Random(seed + 1)
    valid = _valid_events()
    for index in range(count):
        name, event = rng.choice(valid)
        if rng.random() < 0.3:  # any function gets any event
            name = rng.choice(FUNCTIONS)
        path = "/deadletter" if name == "status" and rng.random() < 0.2 else "/"
        kind = rng.choice(("structured", "binary", "duplicate", "raw", "content type", "huge"))
        if index % 5000 == 4999:
            kind = "huge"
        elif kind == "huge":
            kind = "structured"
        if kind == "duplicate":
            body = json.dumps(event).encode()
            headers = {"Content-Type": "application/cloudevents+json"}
        elif kind == "structured":
            body = json.dumps(_mutate_event(rng, event)).encode("utf-8", "surrogatepass")
            headers = {"Content-Type": "application/cloudevents+json"}
        elif kind == "binary":
            body, headers = _binary_mode(_mutate_event(rng, event), rng)
        elif kind == "raw":
            body = _raw_body(rng)
            headers = {
                "Content-Type": rng.choice(("application/cloudevents+json", "application/json"))
            }
            if rng.random() < 0.5:
                headers.update({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/f",
                                "ce-type": event["type"], "ce-subject": JOB})  # fmt: skip
        elif kind == "content type":
            body = json.dumps(event).encode()
            content_type = rng.choice(CONTENT_TYPES)
            headers = {"Content-Type": content_type} if content_type else {}
        else:
            body = b'{"specversion": "1.0", "data": "' + b"A" * HUGE_BYTES + b'"}'
            headers = {"Content-Type": "application/cloudevents+json"}
        yield kind, name, path, body, headers


# --- sending and counting ---------------------------------------------------------------------


@dataclass
class Tally:
    sent: int = 0
    by_status: collections.Counter[int] = field(default_factory=collections.Counter)
    server_errors: collections.Counter[str] = field(default_factory=collections.Counter)
    no_answer: collections.Counter[str] = field(default_factory=collections.Counter)
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, label: str, status: int | None, detail: str) -> None:
        with self.lock:
            self.sent += 1
            if status is None:
                self.no_answer[label] += 1
            else:
                self.by_status[status] += 1
                if status >= 500:
                    self.server_errors[label] += 1
            if (status is None or status >= 500) and len(self.examples) < 10:
                self.examples.append(f"{label}: {status} {detail[:200]}")


class Client:
    """One keep-alive connection per function for one thread; reconnects after any error."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.connections: dict[str, http.client.HTTPConnection] = {}

    def send(self, name: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        reused = name in self.connections
        try:
            return self._send(name, path, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError):
            if not reused:
                raise
            # The server closed an idle keep-alive connection (gunicorn: after 2 s), as clients
            # expect; send once more on a new one, as they do.
            return self._send(name, path, body, headers)

    def _send(
        self, name: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        connection = self.connections.get(name)
        if connection is None:
            parts = urlsplit(self.urls[name])
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            self.connections[name] = connection
        try:
            # A body refused before it was all sent (413 on its Content-Length): read the answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.drop(name)
            return response.status, data
        except Exception:
            self.drop(name)
            raise

    def drop(self, name: str) -> None:
        connection = self.connections.pop(name, None)
        if connection is not None:
            connection.close()


def run(requests: Iterator[tuple[str, str, str, bytes, dict[str, str]]], system: System,
        clients: int, tally: Tally) -> float:  # fmt: skip
    """Send every request from ``clients`` threads; returns the seconds it took."""
    local = threading.local()
    feed_lock = threading.Lock()

    def worker(_: int) -> None:
        local.client = Client(system.urls)
        while True:
            with feed_lock:
                item = next(requests, None)
            if item is None:
                return
            label, name, path, body, headers = item
            try:
                status, data = local.client.send(name, path, body, headers)
                tally.record(f"{name} {path} {label}", status, data.decode("utf-8", "replace"))
            except (OSError, http.client.HTTPException) as error:
                tally.record(f"{name} {path} {label}", None, repr(error))

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return time.monotonic() - started


def logged_problems(log: Path) -> dict[str, int]:
    """What the functions and their servers said went wrong (the up log, WARNING level)."""
    counts = collections.Counter[str]()
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            if record.get("message") == "request" and record.get("status", 0) >= 500:
                counts[f"{record.get('function')} answered {record['status']}"] += 1
            elif record.get("message") == "unhandled error":
                counts["unhandled exceptions"] += 1
        elif "WORKER TIMEOUT" in line or "was sent" in line or "Worker exiting" in line:
            counts["gunicorn: " + line.split("] ", 2)[-1][:60]] += 1
        elif "Unexpected exit from worker" in line:
            counts["granian: " + line.split("] ", 1)[-1][:60]] += 1
    return dict(counts)


class Watcher:
    """Samples the functions' workers twice a second: a new pid is a replaced worker."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.first = system.workers()
        self.seen = {name: set(pids) for name, pids in self.first.items()}
        self.processes: dict[int, psutil.Process] = {}
        self.busy = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            busy = 0.0
            for name, pids in self.system.workers().items():
                self.seen.setdefault(name, set()).update(pids)
                for pid in pids:
                    with contextlib.suppress(psutil.Error):
                        process = self.processes.setdefault(pid, psutil.Process(pid))
                        busy += process.cpu_percent(interval=None)
            self.busy = busy

    def wait_until_idle(self, seconds: float = 900) -> None:
        """Until the broker has delivered what the jobs queued (the workers fall quiet)."""
        deadline, quiet = time.monotonic() + seconds, 0
        while time.monotonic() < deadline and quiet < 6:
            time.sleep(0.5)
            quiet = quiet + 1 if self.busy < 5 else 0

    def crashes(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        return {name: len(pids) - len(self.first.get(name, ())) for name, pids in self.seen.items()}


def _readiness(url: str) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", "/health/readiness")
    return connection.getresponse().status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    stores = [
        f"{v}={'set' if os.environ.get(v) else 'embedded'}" for v in ("REDIS_URL", "DATABASE_URL")
    ]
    print(f"system: colorseason up ({', '.join(stores)}), seed {args.seed}")
    print(f"load: {args.clients} client threads, one keep-alive connection each per function")
    with (
        tempfile.TemporaryDirectory(prefix="colorseason-fuzz-") as workdir,
        running_system(Path(workdir)) as system,
    ):
        watcher = Watcher(system)
        results = {}
        for label, count, requests in (
            ("photos", args.photos, photo_requests(args.photos, args.seed)),
            ("events", args.events, event_requests(args.events, args.seed)),
        ):
            if count:
                tally = Tally()
                results[label] = (tally, run(requests, system, args.clients, tally))
        watcher.wait_until_idle()
        crashes = watcher.crashes()
        ready = {name: _readiness(system.urls[name]) for name in FUNCTIONS}
        problems = logged_problems(system.log)
    for label, (tally, seconds) in results.items():
        errors = sum(tally.server_errors.values())
        silent = sum(tally.no_answer.values())
        print(f"\n{label}: {tally.sent} requests in {seconds:.0f} s ({tally.sent / seconds:.0f}/s)")
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.by_status.items()))
        print(f"  answers by status: {statuses}")
        print(
            f"  answers >= 500: {errors} ({errors / max(tally.sent, 1):.4%}); no answer: {silent}"
        )
        for line in tally.examples:
            print(f"    e.g. {line}")
    print(f"\nworker crashes (workers replaced): {crashes}")
    print(f"readiness afterwards: {ready}")
    print(f"logged by the system: {problems or 'nothing >= 500, no exception, no crash'}")


if __name__ == "__main__":
    main()
