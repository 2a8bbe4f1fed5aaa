#!/usr/bin/env bash
# Data-parallel step time and communication per step on this machine: one process with T threads against
# T ranks of one thread each (mpirun), same global batch. Prints a markdown table.
#   bash bench/mpi/data_parallel.sh [BUILD_DIR] [STEPS]      (FG_DATA_DIR must hold mnist-sample)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
STEPS="${2:-60}"
echo "load average before: $(cut -d' ' -f1 /proc/loadavg); $(nproc) CPUs; $STEPS steps of batch 128, M/1/16, mnist-sample"
echo
echo "| method | layout | images/s | ms/step | bytes all-reduced/step | comm ms/step (rank 0) |"
echo "|---|---|---:|---:|---:|---:|"
for method in LG-BP LG-FG-A LG-FG-W; do
  for layout in "1x2" "2x1"; do
    ranks=${layout%x*} threads=${layout#*x}
    args=(train --method "$method" --max-steps "$STEPS" --epochs 1 --threads "$threads" --out "$TMP/$method-$layout")
    [ "$ranks" = 1 ] || args+=(--parallel data)
    table_row "$method" "$ranks" "$threads" "bytes all-reduced per step" strip "${args[@]}"
  done
done
