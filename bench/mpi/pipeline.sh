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
    out=$(run_fgrad "$ranks" "${args[@]}")
    rate=$(grep -oE '[0-9]+ images/s' <<<"$out" | tail -1 | cut -d' ' -f1)
    bytes=$(grep -oE '[0-9,]+ bytes passed on per step' <<<"$out" | cut -d' ' -f1 || true)
    comm=$(grep -oE '[0-9.]+ s in communication' <<<"$out" | cut -d' ' -f1 || true)
    ms=$(ms_per_step "$rate")
    comm_ms=$(comm_ms_per_step "$comm" "$STEPS")
    echo "| $method | $ranks rank(s) x $threads thread(s) | $rate | $ms | ${bytes:--} | $comm_ms |"
  done
done
