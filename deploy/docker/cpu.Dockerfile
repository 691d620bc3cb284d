# syntax=docker/dockerfile:1.7
# The image of a CPU-only Helix service (gateway, review), parameterised by SERVICE.
# Build from the repository root:
#   docker build -f deploy/docker/cpu.Dockerfile --build-arg SERVICE=gateway -t helix-gateway:dev .
# EXTRAS names optional dependencies of the service, e.g. review's likeness screening
# (torch, transformers): --build-arg SERVICE=review --build-arg EXTRAS=likeness

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# --- builder: the service and its dependencies from uv.lock, into /opt/helix/venv ---------
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
ARG EXTRAS=""
RUN test -n "${SERVICE}" || (echo "--build-arg SERVICE=<gateway|review> is required" && false)
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/helix/venv
WORKDIR /src
# Dependencies first (a layer that survives source edits). uv needs every workspace
# member's pyproject.toml to read the workspace, not their sources.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/review/pyproject.toml services/review/
COPY services/writer/pyproject.toml services/writer/
COPY services/visual/pyproject.toml services/visual/
COPY services/localize/pyproject.toml services/localize/
COPY dev/pyproject.toml dev/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package helix-${SERVICE} ${EXTRAS:+--extra ${EXTRAS}}
# Then the helix core (its build generates the gRPC code from shared/proto) and the service,
# installed as wheels, not editable: the runtime stage copies only the venv.
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package helix-${SERVICE} ${EXTRAS:+--extra ${EXTRAS}}

# --- runtime: the venv on a slim Python, as user 10001 -------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
RUN groupadd --system --gid 10001 helix \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/helix --no-create-home --shell /usr/sbin/nologin helix \
 && install -d -o 10001 -g 10001 /var/lib/helix /var/cache/helix
COPY --from=builder /opt/helix/venv /opt/helix/venv
ENV PATH=/opt/helix/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HELIX_HOME=/var/lib/helix \
    XDG_CACHE_HOME=/var/cache/helix \
    HELIX_SERVICE_MODULE=helix_${SERVICE}
WORKDIR /var/lib/helix
USER 10001:10001
EXPOSE 8080 50061 9100
# exec: the service is PID 1's only child no more; it gets SIGTERM itself and drains.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"$HELIX_SERVICE_MODULE\" \"$@\"", "--"]
