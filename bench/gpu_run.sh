#!/usr/bin/env bash
# The transformers adapter on a Qwen2.5-Omni-7B-shaped thinker (random weights, bf16) at batch
# sizes 1, 8 and 32 on one GPU, in one call: install the wheels brought along, build a small
# synthetic dataset, measure (bench/gpu_throughput.py). Results: $OUT/gpu_throughput.{json,md},
# $OUT/log.txt, $OUT/machine.txt.
#
# Run from the repository root on the GPU machine (see docs/benchmarks.md):
#     bash bench/gpu_run.sh                      # WHEELS=bench/wheels, OUT=$OUT or bench/results/gpu
#     PROBES=96 SHAPE=3b bash bench/gpu_run.sh
#
# The machine's Python already has torch (CUDA), transformers, tokenizers, accelerate,
# pyarrow, pandas, fsspec, xxhash, tqdm, pyyaml (docs: /work/shared/notes/gpu-machine.md);
# the wheels in $WHEELS supply the rest (datasets, av, a newer transformers, huggingface_hub
# 2.x with httpx2, librosa, soundfile, soxr and their small dependencies). They are installed
# with --no-index --no-deps into a private folder put first on PYTHONPATH: nothing is
# downloaded and the machine's own packages are left as they are.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEELS=${WHEELS:-$ROOT/bench/wheels}
OUT=${OUT:-$ROOT/bench/results/gpu}
SHAPE=${SHAPE:-7b}
DEVICE=${DEVICE:-cuda}      # DEVICE=cpu DTYPE=float32 SHAPE=tiny: the same script on a CPU
DTYPE=${DTYPE:-bfloat16}
PROBES=${PROBES:-64}
BATCH_SIZES=${BATCH_SIZES:-"1 8 32"}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/thud-gpu.XXXXXX)
SITE=$WORK/site

t0=$(date +%s)
if ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    echo "no wheels in $WHEELS (see docs/benchmarks.md: pip download ... -d bench/wheels)" >&2
    exit 2
fi
"$PYTHON" -m pip install --quiet --no-index --no-deps --target "$SITE" "$WHEELS"/*.whl
export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# offline: caches in the scratch folder, no hub calls
export HF_HOME=$WORK/hf HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 THUD_CACHE=$WORK/cache
export TOKENIZERS_PARALLELISM=false

{
    echo "date: $(date -u +%FT%TZ)"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    echo "cpus: $(nproc)"
    "$PYTHON" - <<'EOF'
import importlib, sys
print("python", sys.version.split()[0])
missing = []
for name in ("torch", "transformers", "tokenizers", "datasets", "av", "huggingface_hub", "librosa",
             "soundfile", "soxr", "pyarrow", "filelock", "accelerate"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "?"), module.__file__)
    except Exception as e:  # report every missing piece at once
        missing.append(f"{name} ({type(e).__name__}: {e})")
if missing:
    sys.exit("missing: " + "; ".join(missing))
import torch
print("cuda", torch.version.cuda, torch.cuda.is_available())
if torch.cuda.is_available():
    print("gpu", torch.cuda.get_device_name(0))
EOF
    echo "install + checks: $(( $(date +%s) - t0 )) s"
} 2>&1 | tee "$OUT/machine.txt"

# shellcheck disable=SC2086
"$PYTHON" "$ROOT/bench/gpu_throughput.py" --shape "$SHAPE" --device "$DEVICE" --dtype "$DTYPE" \
    --probes "$PROBES" --batch-sizes $BATCH_SIZES --max-new-tokens 16 \
    --work "$WORK" --out-dir "$OUT" 2>&1 | tee "$OUT/log.txt"
echo "total: $(( $(date +%s) - t0 )) s" | tee -a "$OUT/log.txt"
