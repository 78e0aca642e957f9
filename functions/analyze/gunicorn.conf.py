"""gunicorn hooks for the analyze image (flags stay on the command line in the Dockerfile).

Each worker is pinned to one CPU. MediaPipe's graph keeps helper threads busy-waiting on every CPU
it may run on: unpinned, one worker burns two cores of CPU time for the work of one, which counts
against the pod's CPU limit and slows its neighbours. Pinned, a worker is as fast (12.3 ms for a
2 MP photo either way) and two workers on two cores serve 153 images/s instead of 123
(bench/functions.py, docs/benchmarks.md).
"""

import os


def post_fork(server, worker) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[(worker.age - 1) % len(cpus)]})
