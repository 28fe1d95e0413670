#!/usr/bin/env bash
# The qwen2_5_omni_3b recipe at full size (random weights) on the GPU machine, in one call:
# SFT and DPO, LoRA and full fine-tuning, a few steps each; seconds per step and peak memory
# to $OUT (gpu_train.json, gpu_train.md, gpu_train.log). See docs/training.md.
#
# The machine has torch (CUDA), torchvision, accelerate, peft, tokenizers, safetensors,
# pyarrow, pandas, numba... but not datasets, av, trl, or this project's transformers pin:
# those come as wheels (cp312 manylinux, --no-deps) in $WHEELS and are installed into a
# scratch folder put first on PYTHONPATH. The project runs from this checkout.
# (the pip download command is in docs/training.md, "At full size on a GPU").
#   OUT=... bash bench/gpu_train.sh [bench/gpu_train.py options]     (WHEELS=bench/wheels)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder the results go to}"
WHEELS="${WHEELS:-bench/wheels}"
SCRATCH="$(mktemp -d /tmp/thud-gpu.XXXXXX)"
mkdir -p "$OUT"

if compgen -G "$WHEELS/*.whl" > /dev/null; then
    python3 -m pip install --quiet --no-index --no-deps --target "$SCRATCH/deps" "$WHEELS"/*.whl
    export PYTHONPATH="$PWD:$SCRATCH/deps${PYTHONPATH:+:$PYTHONPATH}"
else
    echo "no wheels in $WHEELS: using the machine's packages" >&2
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export THUD_CACHE="$SCRATCH/cache" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTORCH_CUDA_ALLOC_CONF="${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia-smi.csv" 2>&1 || true
python3 -c "import torch, transformers, trl, datasets, av; print('torch', torch.__version__, 'cuda', torch.version.cuda, '| transformers', transformers.__version__, '| trl', trl.__version__, '| datasets', datasets.__version__, '| av', av.__version__)" | tee "$OUT/versions.txt"
python3 bench/gpu_train.py --out "$OUT" --work "$SCRATCH/work" "$@" 2>&1 | tee "$OUT/gpu_train.log"
