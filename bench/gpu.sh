#!/usr/bin/env bash
# The full-size figures on a lent GPU (an H100 or H200), in one run of under 10 minutes.
# Each benchmark records its figures with the device in bench/results.json and RESULTS.md.
#
#   bash bench/gpu.sh                 # where the project is installed (uv)
#
# On a machine whose python3 holds torch but none of Helix's other packages (the lent
# machines here reach no registry), put the wheels of the rest in .whl/ first; they are
# installed into /tmp/site and Helix runs from its source folders (bench/NOTES.md says which
# wheels). Figures so far: the image engine against the stock diffusers pipeline at SD-1.5's
# and SDXL's real shapes (random weights: real speed, noise images).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD/shared/src:$PWD/services/visual/src:$PWD/dev/src"
  PY=(python3)
else
  PY=(uv run --all-packages python)
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"${PY[@]}" -c "import torch, diffusers, helix_visual.engine, helix_visual.grpc_service; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'cuda', torch.cuda.is_available())"

step() { echo; echo "== $*"; }
step "SD-1.5 shapes, 512², 20 steps, fp16: 16 requests (engine batches of 8) against the stock pipeline, then live previews"
"${PY[@]}" bench/visual_throughput.py --full-size sd15 --size 512 --steps 20 --requests 16 --max-batch 8 --repeats 2 --edits 10 \
  --device cuda --dtype float16
step "SDXL shapes, 1024², 20 steps, fp16: 8 requests (engine batches of 4) against the stock pipeline, then live previews"
"${PY[@]}" bench/visual_throughput.py --full-size sdxl --size 1024 --steps 20 --requests 8 --max-batch 4 --repeats 2 --edits 10 \
  --device cuda --dtype float16
