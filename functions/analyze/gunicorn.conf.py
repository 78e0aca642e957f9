"""gunicorn settings of the analyze image; `colorseason up` and bench/ run the function with them.

One worker, one thread: the pipeline is CPU-bound and one MediaPipe graph is not thread-safe, so a
pod handles one image at a time and Knative scales pods (containerConcurrency 2, target 1). No
preload: the graph must be built in the worker, after the fork (docs/design.md#landmarks).
``timeout`` matches the Service's timeoutSeconds; no access log (paths carry job ids). The bind
address comes from the command line (``:$PORT`` in the image).

Each worker is pinned to one CPU. MediaPipe's graph keeps helper threads busy-waiting on every CPU
it may run on: unpinned, one worker burns two cores of CPU time for the work of one, which counts
against the pod's CPU limit and slows its neighbours. Pinned, a worker is as fast (12.3 ms for a
2 MP photo either way) and two workers on two cores serve 153 images/s instead of 123
(bench/functions.py, docs/benchmarks.md).
"""

import os

workers = 1
threads = 1
timeout = 30
graceful_timeout = 20
control_socket_disable = True


def post_fork(server, worker) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[(worker.age - 1) % len(cpus)]})
