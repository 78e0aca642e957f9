"""Benchmarks of the three functions over HTTP on loopback (numbers, not pass/fail).

    uv run python bench/functions.py [analyze|person|status|results|all] [--seconds N] [--workers N]
        [--rate R] [--connections C,C,...]

Each function runs under gunicorn with its image's settings (functions/<name>/gunicorn.conf.py).

- analyze: ``POST /`` with a 2 MP JPEG (N workers, one thread each); median / p90 latency and
  throughput, for each worker count up to ``--workers``.
- person: ``POST /`` with three 2 MP photos of one person in one multipart body against one photo
  in one (one worker): what several photos cost over HTTP, parsing included.
- status: ``GET /jobs/{id}`` at a fixed rate (``--rate``, default 2000/s) from a second process
  (an open-loop load generator on C keep-alive connections, for each C of ``--connections``),
  p50 / p99 / max latency counted from when each request was due.
- results: ``completed`` events POSTed to the function; idempotent inserts per second (half of the
  events are replays, as a broker's at-least-once delivery produces).

Needs the machine's Redis and PostgreSQL (``REDIS_URL`` / ``DATABASE_URL`` as for the tests).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import platform
import runpy
import selectors
import socket
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from colorseason.local.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    return (
        f"{cpu}; {os.cpu_count()} logical cores; Python {platform.python_version()}; "
        f"{platform.system()} {platform.release()}"
    )


@contextmanager
def serve(name: str, workers: int | None = None, **env: str):
    """Run functions/<name> as its image does (functions/serve.py: its server and settings) on a
    loopback port until the block ends; ``workers`` overrides a gunicorn function's number of
    workers (GUNICORN_CMD_ARGS wins over its settings file)."""
    port = free_port()
    environment = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": DATABASE_URL,
        "LOG_LEVEL": "WARNING",
        **({"GUNICORN_CMD_ARGS": f"--workers {workers}"} if workers is not None else {}),
        **env,
    }
    command = [sys.executable, str(ROOT / "functions" / "serve.py"), name, f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, env=environment, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _ = request(port, "GET", "/health/readiness")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name} did not become ready")
            time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def request(port, method, path, body=None, headers=None):
    """One request on a connection of its own: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _load(port: int, body: bytes, headers: dict[str, str], seconds: float, clients: int):
    """``clients`` closed loops of ``POST /`` for ``seconds``: (latencies in ms, elapsed s)."""

    def client(_: int) -> list[float]:
        # A connection per request: a kept-alive connection stays with the worker that
        # accepted it, and two of them on one worker would leave the other idle.
        latencies, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            status, _ = request(port, "POST", "/", body, headers)
            assert status == 200, status
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    began = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [x for part in pool.map(client, range(clients)) for x in part]
    return latencies, time.monotonic() - began


def bench_analyze(seconds: float, max_workers: int) -> None:
    from colorseason.testing import sample_jpeg

    photo = sample_jpeg("astronaut", megapixels=2.0)
    headers = {"Content-Type": "image/jpeg"}
    print(f"analyze: POST / with a {len(photo) / 1024:.0f} KiB 2 MP JPEG")
    for workers in range(1, max_workers + 1):
        with serve("analyze", workers=workers) as port:
            for _ in range(3 * workers):  # warm every worker's graph
                request(port, "POST", "/", photo, headers)
            latencies, elapsed = _load(port, photo, headers, seconds, workers)
            print(
                f"  workers={workers}: median {statistics.median(latencies):.1f} ms,"
                f" p90 {percentile(latencies, 90):.1f} ms, {len(latencies) / elapsed:.1f} req/s"
                f" ({len(latencies)} requests)"
            )


def bench_person(seconds: float) -> None:
    """Three photos of one person in one ``POST /`` against one, over HTTP, one worker."""
    from colorseason.testing import multipart_photos, one_person_jpegs

    photos = one_person_jpegs(megapixels=2.0)
    print(f"person: POST / multipart, 2 MP JPEGs of {[len(p) // 1024 for p in photos]} KiB")
    medians = {}
    with serve("analyze", workers=1) as port:
        for count in (1, 3):
            body, headers = multipart_photos(photos[:count])
            for _ in range(3):
                request(port, "POST", "/", body, headers)
            latencies, elapsed = _load(port, body, headers, seconds, 1)
            medians[count] = statistics.median(latencies)
            print(
                f"  {count} photo(s): median {medians[count]:.1f} ms,"
                f" p90 {percentile(latencies, 90):.1f} ms, {len(latencies) / elapsed:.1f} req/s"
                f" ({len(latencies)} requests)"
            )
    print(f"  three photos cost {medians[3] / medians[1]:.2f}x one")


def _status_load(port: int, path: str, rate: float, seconds: float, connections: int, queue):
    """Open loop: request i is due at i/rate s, on connection i mod ``connections`` (kept
    alive); latency counts from when it was due, so queueing (in the client or the server)
    shows. One thread and an epoll loop drive every connection: a thread per connection would
    measure the client's own GIL hand-offs, and http.client costs more than the server's answer.
    A wait under 1 ms (epoll's resolution) is slept instead, so requests go out on time."""
    total = int(rate * seconds)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    selector = selectors.DefaultSelector()
    sockets, next_index, sent_due, buffers = [], list(range(connections)), {}, {}
    for k in range(connections):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        selector.register(sock, selectors.EVENT_READ, k)
        sockets.append(sock)
        buffers[k] = b""
    latencies: list[float] = []
    start = time.perf_counter() + 0.2
    while len(latencies) < total:
        now, wake = time.perf_counter(), None
        for k in range(connections):
            if k in sent_due or next_index[k] >= total:
                continue
            due = start + next_index[k] / rate
            if due <= now:
                sockets[k].sendall(request)
                sent_due[k] = due
                next_index[k] += connections
            else:
                wake = due if wake is None else min(wake, due)
        timeout = None if wake is None else max(0.0, wake - time.perf_counter())
        if timeout is not None and timeout < 0.001:  # epoll would round it up to 1 ms
            time.sleep(timeout)
            timeout = 0.0
        for key, _ in selector.select(timeout):
            k = key.data
            received = sockets[k].recv(65536)
            if not received:
                raise ConnectionError("status closed a load connection")
            buffers[k] += received
            head, separator, rest = buffers[k].partition(b"\r\n\r\n")
            if not separator:
                continue
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                continue
            assert head.startswith(b"HTTP/1.1 200"), head[:40]
            buffers[k] = rest[length:]
            latencies.append((time.perf_counter() - sent_due.pop(k)) * 1000)
    for sock in sockets:
        sock.close()
    queue.put(latencies)


def bench_status(seconds: float, rate: float = 2000.0, connections: tuple[int, ...] = (8,)):
    """GET /jobs/{id} on the status function, for each number of load connections."""
    import redis

    from colorseason.status import JobState, JobStore

    job_id = uuid.uuid4().hex
    JobStore(redis.Redis.from_url(REDIS_URL), 600).advance(job_id, JobState.PROCESSING)
    settings = runpy.run_path(str(ROOT / "functions" / "status" / "granian.conf.py"))
    shape = f"granian, {settings['workers']} worker(s) x {settings['blocking_threads']} threads"
    with serve("status") as port:  # as the image runs it
        for _ in range(200):
            request(port, "GET", f"/jobs/{job_id}")
        for count in connections:
            queue = multiprocessing.Queue()
            loader = multiprocessing.Process(
                target=_status_load, args=(port, f"/jobs/{job_id}", rate, seconds, count, queue)
            )
            loader.start()
            latencies = queue.get()
            loader.join()
            print(
                f"status: GET /jobs/{{id}} at {rate:.0f} req/s for {seconds:.0f} s ({shape}),"
                f" {count} connections: p50 {percentile(latencies, 50):.2f} ms,"
                f" p99 {percentile(latencies, 99):.2f} ms, max {max(latencies):.2f} ms"
                f" ({len(latencies)} requests)",
                flush=True,
            )


def bench_results(seconds: float) -> None:
    from colorseason import events

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    result = {
        "season": {"id": "soft-summer"},
        "probabilities": {"soft-summer": 1.0},
        "model": {"version": "bench"},
    }
    with serve("results", DATABASE_SCHEMA=schema) as port:  # as the image runs it

        def sender(_: int) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            sent, end = 0, time.monotonic() + seconds
            while time.monotonic() < end:
                headers, body = events.to_response(events.completed(uuid.uuid4().hex, result))
                for _ in range(2):  # the event and its replay
                    status, _ = request(port, "POST", "/", body, headers, conn)
                    assert status == 202, status
                sent += 1
            return sent

        began = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            stored = sum(pool.map(sender, range(4)))
        elapsed = time.monotonic() - began
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print(
        f"results: {stored / elapsed:.0f} new rows/s, {2 * stored / elapsed:.0f} events/s"
        f" (half replays) over {elapsed:.1f} s (as its image runs it, 4 clients)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=["analyze", "person", "status", "results", "all"],
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="analyze: up to this many workers")
    parser.add_argument("--rate", type=float, default=2000.0, help="status: requests per second")
    parser.add_argument(
        "--connections", default="1,2,4,8,32", help="status: load connections, comma-separated"
    )
    args = parser.parse_args()
    print(machine())
    if args.which in ("analyze", "all"):
        bench_analyze(args.seconds, args.workers)
    if args.which in ("person", "all"):
        bench_person(args.seconds)
    if args.which in ("status", "all"):
        bench_status(args.seconds, args.rate, tuple(int(c) for c in args.connections.split(",")))
    if args.which in ("results", "all"):
        bench_results(args.seconds)


if __name__ == "__main__":
    main()
