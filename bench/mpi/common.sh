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
