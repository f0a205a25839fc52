# One image per service, all from this file: `--build-arg SERVICE=<package>` picks the service
# (compose passes it; see docs/containers.md), `--build-arg PORT=<its default port>` its port.
# Build from the repository root: docker build --build-arg SERVICE=assistant --build-arg PORT=8002 .
# Only that service's dependency group from uv.lock is installed, only its code is copied.
# SERVICE=all is the one-process image (docker-compose.one.yml): every service's group and
# package, and ops/, running `python -m ops.one_process` (PORT=8000, rest_service's).

FROM python:3.11.13-slim-bookworm AS builder
ARG SERVICE
# TRACING=true adds OpenTelemetry's SDK and OTLP exporter (the `tracing` extra, decision 0069):
# traces need it, an image without it is lighter (OTEL_EXPORTER_OTLP_ENDPOINT refuses to start).
ARG TRACING=false
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /build
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    : "${SERVICE:?build with --build-arg SERVICE=<service>}" \
    && if [ "${SERVICE}" = all ]; then set -- --all-extras --no-extra dev --no-extra embedded; \
       else set -- --extra "${SERVICE}"; fi \
    && if [ "${TRACING}" = true ] && [ "${SERVICE}" != all ]; then set -- "$@" --extra tracing; fi \
    && if [ "${TRACING}" != true ] && [ "${SERVICE}" = all ]; then set -- "$@" --no-extra tracing; fi \
    && uv sync --frozen --no-install-project --no-dev "$@"
WORKDIR /src
COPY common/ common/
# The rest_service image also runs the migrate step and the operations (`manage.py upgrade`,
# `seed`, `dlq`), the all image the one-process runner; no other carries the tooling.
COPY manage.py ./
COPY ops/ ops/
# The service's package from the build context; for SERVICE=all, each of ops/services.py's.
RUN --mount=type=bind,target=/context \
    python -c "import shutil, sys; from ops.services import NAMES; \
[shutil.copytree(f'/context/{n}', n) for n in (NAMES if sys.argv[1] == 'all' else sys.argv[1:])]" \
        "${SERVICE}" \
    && if [ "${SERVICE}" != rest_service ] && [ "${SERVICE}" != all ]; then rm -r manage.py ops; fi

FROM python:3.11.13-slim-bookworm
ARG SERVICE
ARG PORT
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SMART_ASSISTANT_NO_BOOTSTRAP=1 \
    SERVICE=${SERVICE} \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=${PORT}
RUN : "${PORT:?build with --build-arg PORT=<default port of the service>}" \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /src/ ./
USER 10001:10001
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['HTTP_PORT'] + '/health', timeout=2)"]
# exec: the service (or the one process), not the shell, is the process that receives SIGTERM.
CMD ["sh", "-c", "if [ \"$SERVICE\" = all ]; then exec python -m ops.one_process; fi; exec python -m \"$SERVICE\""]
