"""gunicorn settings of the results image; `colorseason up` and bench/ run the function with them.

I/O-bound (PostgreSQL round trips): 2 workers x 4 threads = 8 concurrent requests per pod, the
Service's containerConcurrency (knative/base/results.yaml); each worker has its own pool with a
connection per thread. ``timeout`` matches the Service's timeoutSeconds; no access log (paths
carry job ids). The bind address comes from the command line (``:$PORT`` in the image).
"""

workers = 2
threads = 4
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
control_socket_disable = True
