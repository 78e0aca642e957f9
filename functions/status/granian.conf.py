"""granian settings of the status image; functions/serve.py runs the function with them, in the
image, in `colorseason up` and in bench/.

status is the one hot read path: every waiting client polls ``GET /jobs/{id}`` twice a second,
and the service must answer 2,000 polls a second at p99 <= 10 ms (issue 10). Under gunicorn's
threaded workers the HTTP parsing and thread hand-offs in Python cost more than the poll itself:
on the 2-core development machine gunicorn did not reach 2,000 req/s even for a handler that
returns a constant. granian parses HTTP in Rust and enters Python only for the handler, so one
worker serves a poll in about 0.1 ms of CPU, and a kept-alive connection that sticks to one
worker no longer matters: either worker alone has the capacity (docs/benchmarks.md).

Two workers, one Rust thread each (``st``: on a pod's one or two cores more threads only
compete), and 32 Python threads each for long-polls: each held ``GET /jobs/{id}`` (``Prefer:
wait``, up to 25 s) keeps one, and a worker holds at most LONG_POLL_MAX_HELD (16, half its
threads) at once, so the other half always serve the broker's deliveries and plain polls
(granian warns at start that 32 threads are many for the cores: they wait, they do not compute).
2 x 32 = the Service's containerConcurrency; Knative adds pods as held requests grow
(knative/base/status.yaml). HTTP/1.1 only (queue-proxy and browsers speak it to the pod); no
access log (paths carry job ids); a stopping worker gets 20 s to finish its requests, within the
Service's timeoutSeconds (30).
"""

from granian.constants import HTTPModes, RuntimeModes

workers = 2
runtime_mode = RuntimeModes.st
blocking_threads = 32
http = HTTPModes.http1
log_access = False
workers_kill_timeout = 20
