# Sourced by the MPI benchmarks: ROOT, BUILD_DIR (first argument), FGRAD, the Open MPI settings for root and
# oversubscription, a scratch folder TMP removed at exit, and run_fgrad RANKS ARGS... (mpirun for RANKS > 1).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"
FGRAD="$ROOT/managed/ForwardGrad.Cli/bin/Release/net10.0/fgrad.dll"
export FG_NATIVE_PATH="$BUILD_DIR/lib" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

run_fgrad() {
  local ranks=$1
  shift
  if [ "$ranks" = 1 ]; then dotnet "$FGRAD" "$@"; else mpirun -np "$ranks" dotnet "$FGRAD" "$@"; fi
}

# ms per step of batch 128 from images/s, and communication ms per step from seconds over STEPS ("-" without).
ms_per_step() { awk -v r="$1" 'BEGIN { printf "%.1f", 128000 / r }'; }
comm_ms_per_step() { [ -n "$1" ] && awk -v c="$1" -v s="$2" 'BEGIN { printf "%.1f", 1000 * c / s }' || echo "-"; }

# One table row: runs fgrad on RANKS ranks with ARGS and prints
# | METHOD | layout | images/s | ms/step | bytes/step | comm ms/step |, the bytes read from the output line that ends in
# PHRASE ("bytes passed on per step") and printed as fgrad wrote them, or without commas when COMMAS is "strip".
#   table_row METHOD RANKS THREADS PHRASE COMMAS ARGS...      (STEPS: the steps each run takes)
table_row() {
  local method=$1 ranks=$2 threads=$3 phrase=$4 commas=$5 out rate bytes comm
  shift 5
  out=$(run_fgrad "$ranks" "$@")
  rate=$(grep -oE '[0-9]+ images/s' <<<"$out" | tail -1 | cut -d' ' -f1)
  bytes=$(grep -oE "[0-9,]+ $phrase" <<<"$out" | cut -d' ' -f1 || true)
  [ "$commas" = strip ] && bytes=${bytes//,/}
  comm=$(grep -oE '[0-9.]+ s in communication' <<<"$out" | cut -d' ' -f1 || true)
  echo "| $method | $ranks rank(s) x $threads thread(s) | $rate | $(ms_per_step "$rate") | ${bytes:--} | $(comm_ms_per_step "$comm" "$STEPS") |"
}
