"""gunicorn settings of the status image; `colorseason up` and bench/ run the function with them.

One process with 64 threads. With two workers, each kept-alive connection (queue-proxy's, a
client's) stays with the worker that accepted it, so one worker could idle while the other queued
(1,016-1,585 req/s at p99 11-30 ms instead of 2,200 at 8 ms, issue 10); the pod's CPU limit is one
core anyway, which one process fills. The threads are for long-polls: each held ``GET /jobs/{id}``
(``Prefer: wait``, up to 25 s) keeps one; at most LONG_POLL_MAX_HELD (32) are held at once, so
the other half always serve the broker's deliveries and plain polls. 64 = the Service's
containerConcurrency; Knative adds pods as held requests grow (knative/base/status.yaml).
``timeout`` matches the Service's timeoutSeconds; no access log (paths carry job ids). The bind
address comes from the command line (``:$PORT`` in the image). Measured: docs/benchmarks.md
(bench/functions.py status).
"""

workers = 1
threads = 64
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
control_socket_disable = True
