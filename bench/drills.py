"""Outage drills: issue 10's findings 1-5 rehearsed on loopback, with the figures they must reach.

    uv run python bench/drills.py [--only postgres,redis,duplicate,latency,status] [--long]
        [--outage SECONDS] [--rate JOBS_PER_S]

Everything runs on this machine against servers the drill starts itself, never the shared ones:
a memory-only redis-server for photos, a redis-server with an append-only file for job state and
a PostgreSQL (pgserver), all private, and `colorseason up` pointed at them (its functions run as
their images do, the local broker follows eventing/*.yaml with the real retry budgets: 100
linear retries 5 s apart more each time, ~7 h, so nothing is scaled down).

- postgres: jobs at ``--rate``/s; PostgreSQL stopped for ``--outage`` s (60) mid-load, and with
  ``--long`` a second run stopped for 10 minutes. Every job is watched by a long-polling client
  (it hears each change the moment status has it, and reads the result at once when it says
  completed) and by a poller that reads every job's state flat out (about every 20 ms per job).
  Prints results lost, jobs stuck, completed-then-404 sightings, and submit -> processing latency
  before / during / after the outage (finding 5: a slow results must not slow the others).
- redis: the job-state Redis shut down and restarted (5 s) mid-load: jobs whose result is stored
  but not shown completed, stuck, or failed while their result exists.
- duplicate: 30 trials of one `requested` delivered twice at once (through the broker to up's
  analyze, and straight to a second analyze process, as to a second pod): trials that show failed.
- latency: submit -> completed as a long-polling client sees it (and as a 0.5 s poller does).
- status: GET /jobs/{id} at 1,000 and 2,000 req/s on 1, 2, 8 and 32 connections
  (bench/functions.py).

Bounded: each drill stops waiting at a deadline and reports what had not finished as stuck.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
LONG_POLL = "wait=20"
FAST_POLL_SECONDS = 0.02
TERMINAL = {"completed", "failed"}


# --- HTTP ----------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection to one origin (reopened after an error)."""

    def __init__(self, base: str, timeout: float = 30) -> None:
        parts = urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self._conn: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body); status 0 when no answer came (refused, reset, timeout)."""
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt:
                    return 0, {}, b""
        return 0, {}, b""


def path_of(url: str) -> str:
    return urlsplit(url).path


# --- the stack -----------------------------------------------------------------------------------


@dataclass
class Stack:
    urls: dict[str, str]
    photos: Any
    jobs: Any
    postgres: Any
    env: dict[str, str]


@contextmanager
def stack(workdir: Path) -> Iterator[Stack]:
    """Private servers and `colorseason up --port 0` on them."""
    from colorseason.local.servers import PostgresServer, RedisServer, start_up

    photos = RedisServer(persistent=False).start()
    jobs = RedisServer(persistent=True).start()
    postgres = PostgresServer().start()
    env = {
        **os.environ,
        "REDIS_URL": photos.url,
        "JOBS_REDIS_URL": jobs.url,
        "DATABASE_URL": postgres.url,
        "LOG_LEVEL": "WARNING",
    }
    try:
        up, urls = start_up(workdir, env)
        try:
            yield Stack(urls, photos, jobs, postgres, env)
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=90)
    finally:
        for server in (photos, jobs, postgres):
            server.close()


@contextmanager
def second_analyze(env: dict[str, str], broker_url: str) -> Iterator[str]:
    """Another analyze process on the same stores: a second pod a broker may deliver to."""
    from colorseason.local.servers import free_port

    port = free_port()
    command = [sys.executable, str(ROOT / "functions" / "serve.py"), "analyze", f"127.0.0.1:{port}"]
    process_env = {**env, "K_SINK": broker_url}
    process = subprocess.Popen(command, env=process_env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        client, deadline = Client(url, 5), time.monotonic() + 120
        while client.call("GET", "/health/readiness")[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the second analyze did not become ready")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- jobs and the clients that watch them ---------------------------------------------------------


@dataclass
class Job:
    job_id: str
    status_url: str
    result_url: str
    submitted: float
    submitted_at: float = field(default_factory=time.time)  # wall clock, to compare with status's
    states: list[tuple[float, str]] = field(default_factory=list)
    recorded: dict[str, float] = field(default_factory=dict)  # state -> status's updated_at
    completed_reads: list[int] = field(default_factory=list)  # results' answer at each sighting

    def first(self, state: str) -> float | None:
        return next((t for t, s in self.states if s == state), None)

    @property
    def state(self) -> str | None:
        return self.states[-1][1] if self.states else None


def watch(job: Job, stop: threading.Event) -> None:
    """A long-polling client: each change heard at once; completed -> read the result at once."""
    status, results = Client(job.status_url), Client(job.result_url)
    etag = None
    while not stop.is_set():
        headers = {"Prefer": LONG_POLL, **({"If-None-Match": etag} if etag else {})}
        code, answer, body = status.call("GET", path_of(job.status_url), headers=headers)
        if code == 200:
            etag, record = answer.get("ETag"), json.loads(body)
            state = record["state"]
            job.recorded.setdefault(state, _epoch(record["updated_at"]))
            if state == "completed":
                job.completed_reads.append(results.call("GET", path_of(job.result_url))[0])
            job.states.append((time.monotonic(), state))
            if state in TERMINAL:
                return
        if code not in (200, 304) or "Preference-Applied" not in answer:
            time.sleep(0.5)  # status did not hold it (full, or down): poll, as the web page does


def _epoch(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


class FastPoller:
    """Reads every unfinished job's state as fast as it can (about every 20 ms per job)."""

    def __init__(self, jobs: list[Job], threads: int = 4) -> None:
        self.jobs, self.stop, self.sightings = jobs, threading.Event(), 0
        self.polls = 0
        self._threads = [
            threading.Thread(target=self._run, args=(i, threads)) for i in range(threads)
        ]

    def __enter__(self) -> FastPoller:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, index: int, of: int) -> None:
        status: dict[str, Client] = {}
        while not self.stop.is_set():
            started = time.monotonic()
            for job in list(self.jobs)[index::of]:
                if job.state in TERMINAL:
                    continue
                origin = job.status_url.split("/jobs/")[0]
                client = status.setdefault(origin, Client(origin, 10))
                code, _, body = client.call("GET", path_of(job.status_url))
                self.polls += 1
                if code == 200 and json.loads(body)["state"] == "completed":
                    results = status.setdefault(job.result_url, Client(job.result_url, 10))
                    job.completed_reads.append(results.call("GET", path_of(job.result_url))[0])
                    self.sightings += 1
            time.sleep(max(0.0, FAST_POLL_SECONDS - (time.monotonic() - started)))


class Load:
    """Submits a photo every 1/rate s and starts a watcher per accepted job."""

    def __init__(self, analyze: str, rate: float) -> None:
        from colorseason.testing import sample_jpeg

        self.analyze, self.rate = analyze, rate
        self.photo = sample_jpeg("astronaut")
        self.jobs: list[Job] = []
        self.refused = 0
        self.stop = threading.Event()
        self.watch_stop = threading.Event()
        self.watchers: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self._thread.join()

    def _run(self) -> None:
        client = Client(self.analyze)
        next_at = time.monotonic()
        while not self.stop.is_set():
            submitted = time.monotonic()
            code, _, body = client.call("POST", "/jobs", self.photo, {"Content-Type": "image/jpeg"})
            if code == 202:
                ticket = json.loads(body)
                job = Job(ticket["job_id"], ticket["status_url"], ticket["result_url"], submitted)
                self.jobs.append(job)
                watcher = threading.Thread(target=watch, args=(job, self.watch_stop), daemon=True)
                watcher.start()
                self.watchers.append(watcher)
            else:
                self.refused += 1
            next_at += 1 / self.rate
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def settle(self, deadline: float) -> None:
        """Until every job is finished or the deadline passes."""
        while time.monotonic() < deadline and any(j.state not in TERMINAL for j in self.jobs):
            time.sleep(0.5)
        self.watch_stop.set()


def verdict(stack_: Stack, jobs: list[Job]) -> dict[str, int]:
    """What became of each job, asked afresh at the end."""
    status, results = Client(stack_.urls["status"]), Client(stack_.urls["results"])
    counts = {"completed": 0, "stored_not_completed": 0, "failed": 0, "failed_but_stored": 0}
    counts |= {"stuck": 0, "lost": 0, "unknown": 0}
    for job in jobs:
        code, _, body = status.call("GET", path_of(job.status_url))
        stored = results.call("GET", path_of(job.result_url))[0] == 200
        state = json.loads(body)["state"] if code == 200 else None
        if state == "completed" and stored:
            counts["completed"] += 1
        elif state == "failed":
            counts["failed"] += 1
            counts["failed_but_stored"] += stored
        elif state is None:
            counts["unknown"] += 1
        else:
            counts["stuck"] += 1
        counts["stored_not_completed"] += stored and state != "completed"
        counts["lost"] += not stored
    return counts


def percentiles(seconds: list[float]) -> str:
    if not seconds:
        return "n=0"
    ordered = sorted(seconds)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    return (
        f"p50 {pick(0.5):.0f} ms, p95 {pick(0.95):.0f} ms, max {ordered[-1] * 1000:.0f} ms"
        f" (n={len(ordered)})"
    )


def result_reads(jobs: list[Job]) -> str:
    """What results answered each time a client saw a job completed (404 would be a lie; a 503
    only says PostgreSQL is down right now, for a result stored before)."""
    codes = [code for job in jobs for code in job.completed_reads]
    tally = ", ".join(f"{codes.count(c)} x {c or 'no answer'}" for c in sorted(set(codes)))
    return f"{codes.count(404)} answered 404, of {len(codes)} sightings ({tally})"


# --- the drills ---------------------------------------------------------------------------------


def drill_postgres(workdir: Path, outage: float, rate: float) -> None:
    print(
        f"\n## postgres: PostgreSQL stopped {outage:.0f} s mid-load ({rate:g} jobs/s)", flush=True
    )
    with stack(workdir) as s, Load(s.urls["analyze"], rate) as load, FastPoller(load.jobs) as fast:
        time.sleep(10)
        stopped = time.monotonic()
        s.postgres.stop()
        time.sleep(5)
        answers = results_while_down(s.urls["results"])
        time.sleep(max(0.0, outage - (time.monotonic() - stopped)))
        s.postgres.start()
        restarted = time.monotonic()
        time.sleep(10)
        load.stop.set()
        load.settle(time.monotonic() + 240)
        ended = time.monotonic()
        fast.stop.set()
        counts = verdict(s, load.jobs)
    jobs = load.jobs
    done = [j.first("completed") for j in jobs if j.first("completed")]
    phases = {
        "before": [j for j in jobs if j.submitted < stopped],
        "during": [j for j in jobs if stopped <= j.submitted < restarted],
        "after": [j for j in jobs if j.submitted >= restarted],
    }
    print(f"jobs accepted {len(jobs)}, refused {load.refused}; final states: {counts}")
    print(f"results while PostgreSQL was down answered {answers}")
    print(f"results lost: {counts['lost']}; jobs stuck: {counts['stuck']}")
    print(
        f"jobs seen completed whose result then {result_reads(jobs)}; seen by long-poll"
        f" watchers and a poller making {fast.polls / max(1.0, ended - stopped + 10):.0f} polls/s"
    )
    if done:
        print(f"last job completed {max(done) - restarted:.1f} s after PostgreSQL was back")
    for name, group in phases.items():  # when status recorded it: the deliveries' own delay
        processing = [
            j.recorded["processing"] - j.submitted_at for j in group if "processing" in j.recorded
        ]
        print(
            f"submit -> processing recorded by status, submitted {name} the outage:"
            f" {percentiles(processing)}"
        )
    result_unavailable = sum(1 for j in jobs if j.state == "failed")
    print(f"jobs failed: {result_unavailable}", flush=True)


def results_while_down(results_url: str, tries: int = 10) -> str:
    """How fast results says 503 with its database down (it must not hold a delivery 5 s)."""
    client, took, codes = Client(results_url), [], set()
    for _ in range(tries):
        started = time.monotonic()
        codes.add(client.call("GET", f"/results/{uuid.uuid4().hex}")[0])
        took.append(time.monotonic() - started)
    return f"{'/'.join(map(str, sorted(codes)))} in {percentiles(took)}"


def drill_redis(workdir: Path, rate: float) -> None:
    print(f"\n## redis: the job-state Redis restarted mid-load ({rate:g} jobs/s)", flush=True)
    with stack(workdir) as s, Load(s.urls["analyze"], rate) as load:
        time.sleep(10)
        before = [j for j in load.jobs if j.state == "completed"]
        s.jobs.stop()
        time.sleep(5)
        s.jobs.start()
        time.sleep(10)
        load.stop.set()
        load.settle(time.monotonic() + 120)
        counts = verdict(s, load.jobs)
        still = verdict(s, before)
    print(f"jobs accepted {len(load.jobs)}, refused while it was down {load.refused}")
    print(f"final states: {counts}")
    print(
        f"completed before the restart and still completed after: {still['completed']}"
        f" of {len(before)}; stored but not shown completed: {counts['stored_not_completed']};"
        f" stuck: {counts['stuck']}; failed while stored: {counts['failed_but_stored']}",
        flush=True,
    )


def drill_duplicate(workdir: Path, trials: int = 30) -> None:
    print(f"\n## duplicate: requested delivered twice at once, {trials} trials", flush=True)
    import redis

    from colorseason import events
    from colorseason.status import ClaimCheck, JobState, JobStore
    from colorseason.testing import sample_jpeg

    photo = sample_jpeg("grace_hopper")
    failed_trials, answers = 0, []
    with stack(workdir) as s, second_analyze(s.env, s.urls["broker"]) as other:
        claims = ClaimCheck(redis.Redis.from_url(s.photos.url))
        jobs = JobStore(redis.Redis.from_url(s.jobs.url))
        broker, pod, status = Client(s.urls["broker"]), Client(other), Client(s.urls["status"])
        for trial in range(trials):
            job_id = uuid.uuid4().hex
            jobs.advance(job_id, JobState.QUEUED)
            key = claims.put(job_id, photo)
            headers, body = events.to_response(events.requested(job_id, claim_key=key))
            second: list[tuple[int, dict[str, str], bytes]] = []
            thread = threading.Thread(target=_post_into, args=(second, pod, body, headers))
            if trial % 2:  # either may arrive first
                thread.start()
            broker.call("POST", path_of(s.urls["broker"]), body, headers)
            if not trial % 2:
                thread.start()
            thread.join()
            code, reply_headers, reply = second[0]
            answers.append(code)
            if code == 200:  # its reply goes back into the broker, as a broker does with replies
                reply_headers = {
                    k: v for k, v in reply_headers.items() if k.lower() != "content-length"
                }
                broker.call("POST", path_of(s.urls["broker"]), reply, reply_headers)
            seen, deadline = [], time.monotonic() + 30
            while time.monotonic() < deadline and (not seen or seen[-1] != "completed"):
                code, _, body = status.call("GET", f"/jobs/{job_id}")
                if code == 200:
                    seen.append(json.loads(body)["state"])
                time.sleep(FAST_POLL_SECONDS)
            failed_trials += "failed" in seen
    print(
        f"trials that showed failed: {failed_trials} of {trials}; the second pod answered"
        f" {answers.count(202)} x empty 202 (the other attempt had it) and"
        f" {answers.count(200)} x a reply (it had it first)",
        flush=True,
    )


def _post_into(out: list, client: Client, body: bytes, headers: dict[str, str]) -> None:
    out.append(client.call("POST", "/", body, headers))


def drill_latency(workdir: Path, jobs: int = 100) -> None:
    print(f"\n## latency: submit -> completed, {jobs} jobs one at a time", flush=True)
    from colorseason.testing import sample_jpeg

    photo = sample_jpeg("astronaut")
    with stack(workdir) as s:
        analyze = Client(s.urls["analyze"])
        for mode in ("long-poll", "poll every 0.5 s"):
            took = []
            for _ in range(jobs if mode == "long-poll" else jobs // 2):
                started = time.monotonic()
                code, _, body = analyze.call("POST", "/jobs", photo, {"Content-Type": "image/jpeg"})
                assert code == 202, code
                ticket = json.loads(body)
                status, etag, state = Client(ticket["status_url"]), None, None
                deadline = started + 60
                while state not in TERMINAL and time.monotonic() < deadline:
                    headers = {}
                    if mode == "long-poll":
                        headers = {"Prefer": LONG_POLL, **({"If-None-Match": etag} if etag else {})}
                    code, answer, body = status.call(
                        "GET", path_of(ticket["status_url"]), headers=headers
                    )
                    if code == 200:
                        etag, state = answer.get("ETag"), json.loads(body)["state"]
                    if mode != "long-poll" and state not in TERMINAL:
                        time.sleep(0.5)
                if state in TERMINAL:
                    took.append(time.monotonic() - started)
            unfinished = (jobs if mode == "long-poll" else jobs // 2) - len(took)
            print(f"{mode}: {percentiles(took)}; unfinished after 60 s: {unfinished}", flush=True)


def drill_status(seconds: float) -> None:
    print("\n## status: GET /jobs/{id} at 1,000 and 2,000 req/s, by load connections", flush=True)
    from colorseason.local.servers import RedisServer

    server = RedisServer(persistent=True).start()
    try:
        os.environ["REDIS_URL"] = os.environ["JOBS_REDIS_URL"] = server.url
        sys.path.insert(0, str(ROOT / "bench"))
        import functions as function_bench

        function_bench.REDIS_URL = server.url
        for rate in (1000.0, 2000.0):
            function_bench.bench_status(seconds, rate, (1, 2, 8, 32))
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="postgres,redis,duplicate,latency,status")
    parser.add_argument("--long", action="store_true", help="also a 10-minute PostgreSQL outage")
    parser.add_argument("--outage", type=float, default=60.0, help="postgres: outage in seconds")
    parser.add_argument("--rate", type=float, default=1.0, help="jobs submitted per second")
    parser.add_argument("--status-seconds", type=float, default=10.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from functions import machine

    print(machine(), flush=True)
    chosen = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="colorseason-drill-") as scratch:
        workdir = Path(scratch)
        if "postgres" in chosen:
            drill_postgres(workdir / "pg", args.outage, args.rate)
            if args.long:
                drill_postgres(workdir / "pg-long", 600.0, args.rate)
        if "redis" in chosen:
            drill_redis(workdir / "redis", args.rate)
        if "duplicate" in chosen:
            drill_duplicate(workdir / "duplicate")
        if "latency" in chosen:
            drill_latency(workdir / "latency")
        if "status" in chosen:
            drill_status(args.status_seconds)


if __name__ == "__main__":
    # A SIGTERM unwinds like Ctrl-C, so every server and stack the drill started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with suppress(KeyboardInterrupt):
        main()
