# syntax=docker/dockerfile:1.7
# The image of a Helix service that runs models (writer, visual, localize), parameterised by
# SERVICE. Build from the repository root:
#   docker build -f deploy/docker/cuda.Dockerfile --build-arg SERVICE=visual -t helix-visual:dev .
#
# The CUDA user-space libraries (cuBLAS, cuDNN, NCCL, ...) come with torch's wheels from
# uv.lock (CUDA 13); the CUDA base image adds what the NVIDIA container runtime expects
# (NVIDIA_* variables) on the same major version. Nodes need a driver for CUDA 13 (580+).
# Without a GPU the same image runs on the CPU. `--build-arg TINY_MODELS=1` adds the development
# package's tiny-model builders, for the local overlay (no real checkpoints, a CPU cluster).

ARG CUDA_IMAGE=nvidia/cuda:13.0.2-base-ubuntu24.04
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# --- builder: the service and its dependencies from uv.lock, into /opt/helix/venv ---------
# Same base as the runtime, so the venv's interpreter (Ubuntu 24.04's python3.12) is the
# one the runtime has at the same path.
FROM ${CUDA_IMAGE} AS builder
ARG SERVICE
ARG TINY_MODELS=0
RUN test -n "${SERVICE}" || (echo "--build-arg SERVICE=<writer|visual|localize> is required" && false)
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.12 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=/usr/bin/python3.12 \
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
    uv sync --frozen --no-dev --no-install-workspace --package helix-${SERVICE}
# Then the helix core and the service, installed as wheels, not editable.
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package helix-${SERVICE}
COPY dev/ dev/
RUN if [ "${TINY_MODELS}" = 1 ]; then uv pip install --python /opt/helix/venv/bin/python --no-deps ./dev; fi

# --- runtime: the venv on the CUDA base with Python 3.12 (and ffmpeg for animatics), as user 10001
FROM ${CUDA_IMAGE} AS runtime
ARG SERVICE
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.12 ca-certificates $([ "${SERVICE}" = localize ] && echo ffmpeg) \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 helix \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/helix --no-create-home --shell /usr/sbin/nologin helix \
 && install -d -o 10001 -g 10001 /var/lib/helix /var/cache/helix
COPY --from=builder /opt/helix/venv /opt/helix/venv
ENV PATH=/opt/helix/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HELIX_HOME=/var/lib/helix \
    XDG_CACHE_HOME=/var/cache/helix \
    HF_HOME=/var/cache/helix/huggingface \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    HELIX_SERVICE_MODULE=helix_${SERVICE}
WORKDIR /var/lib/helix
USER 10001:10001
EXPOSE 50071 50081 50091 9100
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"$HELIX_SERVICE_MODULE\" \"$@\"", "--"]
