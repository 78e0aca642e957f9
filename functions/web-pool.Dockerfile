# syntax=docker/dockerfile:1
# status and results -- the web pool images, one Dockerfile for both (they differ only in the
# function). Build context is the repository root:
#   docker build -f functions/web-pool.Dockerfile --build-arg FUNCTION=status -t REGISTRY/colorseason/status:TAG .
#   docker build -f functions/web-pool.Dockerfile --build-arg FUNCTION=results -t REGISTRY/colorseason/results:TAG .
# Installs only that function's extra, exactly as pinned in uv.lock (no analysis pipeline, no dev
# tools). Runs as a numeric non-root user with a read-only root filesystem: the only writable path
# is /tmp, an in-memory emptyDir in the cluster (knative/base/status.yaml, results.yaml).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
ARG FUNCTION
RUN case "$FUNCTION" in status|results) ;; \
    *) echo "build with --build-arg FUNCTION=status or FUNCTION=results" >&2; exit 1 ;; esac
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# Third-party dependencies first: this layer is rebuilt only when the lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    uv sync --frozen --no-dev --extra ${FUNCTION} --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
COPY eventing/schemas ./eventing/schemas
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra ${FUNCTION} --no-editable
RUN /opt/venv/bin/python -c "import colorseason.events, colorseason.${FUNCTION}"

FROM ${PYTHON_IMAGE}
ARG FUNCTION
RUN groupadd --system --gid 10001 colorseason \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin colorseason
COPY --from=build /opt/venv /opt/venv
COPY functions/serve.py /app/functions/
COPY functions/${FUNCTION}/main.py functions/${FUNCTION}/*.conf.py /app/functions/${FUNCTION}/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    PORT=8080 \
    FUNCTION=${FUNCTION} \
    FUNCTION_TARGET=main \
    FUNCTION_SOURCE=/app/functions/${FUNCTION}/main.py
USER 10001:10001
WORKDIR /app
EXPOSE 8080
# serve.py runs the function under its server with the settings in its directory (status:
# granian.conf.py, results: gunicorn.conf.py), on :$PORT; `colorseason up` and bench/ run the
# same script, so the function runs the same way everywhere.
CMD ["/bin/sh", "-c", "exec python /app/functions/serve.py \"${FUNCTION}\""]
