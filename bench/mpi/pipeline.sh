#!/usr/bin/env bash
# Block-pipeline step time and bytes sent per step on this machine: one process with 1 and 2 threads against
# 2 ranks of one thread each (mpirun --parallel pipeline), same batch, on a 4-block custom model. Prints a
# markdown table.
#   bash bench/mpi/pipeline.sh [BUILD_DIR] [STEPS] [MODEL]      (FG_DATA_DIR must hold mnist-sample)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
STEPS="${2:-40}"
MODEL="${3:-C=256,G=8,blocks=4,grid=7}"
echo "load average before: $(cut -d' ' -f1 /proc/loadavg); $(nproc) CPUs; $STEPS steps of batch 128, $MODEL, mnist-sample"
echo
echo "| method | layout | images/s | ms/step | bytes passed on/step (rank 0) | comm ms/step (rank 0) |"
echo "|---|---|---:|---:|---:|---:|"
for method in LG-BP LG-FG-A; do
  for layout in "1x1" "1x2" "2x1"; do
    ranks=${layout%x*} threads=${layout#*x}
    args=(train --model "$MODEL" --method "$method" --max-steps "$STEPS" --epochs 1 --threads "$threads" --out "$TMP/$method-$layout")
    [ "$ranks" = 1 ] || args+=(--parallel pipeline)
    table_row "$method" "$ranks" "$threads" "bytes passed on per step" keep "${args[@]}"
  done
done
