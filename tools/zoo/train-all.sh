#!/usr/bin/env bash
# Trains the three zoo models one after another (never two at once: the
# machine is shared), resuming each from tools/zoo/checkpoints/<arch>/ when
# rerun. A finished model is not retrained: its run only rewrites the TF.js
# model from the final checkpoint. Logs append to tools/zoo/logs/<arch>.log.
#
#   nohup nice -n 19 tools/zoo/train-all.sh > tools/zoo/logs/train-all.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p tools/zoo/logs tools/zoo/checkpoints

# arch  epochs  seed   (epochs chosen for about 90 min of one core each)
RUNS=(
  "resnet20 6 1"
  "vgg 6 1"
  "mobilenetv2 5 1"
)

for run in "${RUNS[@]}"; do
  read -r arch epochs seed <<<"$run"
  echo "$(date -u +%FT%TZ) train-all: $arch ($epochs epochs, seed $seed)"
  # The lock keeps a second copy of this script (or a manual run) from training concurrently.
  flock tools/zoo/checkpoints/.train.lock \
    npx tsx tools/zoo/train.ts --arch "$arch" --epochs "$epochs" --seed "$seed" --out "models/tfjs/fmnist-$arch" \
    >>"tools/zoo/logs/$arch.log" 2>&1
done
echo "$(date -u +%FT%TZ) train-all: done"
