"""gunicorn settings of the status image; `colorseason up` and bench/ run the function with them.

Two workers with 32 threads each, and no keep-alive. One process tops out near 1,100-1,300
req/s on a core of the development machine, so 2,000 req/s needs two; but a kept-alive
connection stays with the worker that accepted it, so with keep-alive one worker could idle while
the other queued (1,016-1,585 req/s at p99 11-30 ms instead of 2,200 at 8 ms, issue 10). Closing
each connection after its response makes every request a fresh accept, taken by whichever worker
is free: the two share the load however the clients' connections fall (the caller is queue-proxy
on the pod's loopback, or a browser on `up`'s, so a new connection costs tens of microseconds).

The threads are for long-polls: each held ``GET /jobs/{id}`` (``Prefer: wait``, up to 25 s) keeps
one, and a worker holds at most LONG_POLL_MAX_HELD (16, half its threads) at once, so the other
half always serve the broker's deliveries and plain polls. 2 x 32 = the Service's
containerConcurrency; Knative adds pods as held requests grow (knative/base/status.yaml).
``timeout`` matches the Service's timeoutSeconds; no access log (paths carry job ids). The bind
address comes from the command line (``:$PORT`` in the image). Measured: docs/benchmarks.md
(bench/functions.py status, bench/drills.py).
"""

workers = 2
threads = 32
worker_class = "gthread"
keepalive = 0
timeout = 30
graceful_timeout = 20
control_socket_disable = True
