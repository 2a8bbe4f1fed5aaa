#!/usr/bin/env bash
# Proves the CUDA backend on a GPU machine in one go: builds with CUDA for the GPU found, runs the
# CPU-vs-CUDA parity check, the kernel benchmark and (when GoogleTest exists) ctest, and writes
#   OUTDIR/summary.md      GPU, nvcc, step results, parity counts and failures, benchmark table
#   OUTDIR/nvidia-smi.txt  OUTDIR/nvcc.txt
#   OUTDIR/configure.log build.log parity.log bench.log [ctest.log]
# Usage (from the repository root): bench/native/gpu_check.sh OUTDIR [--cpu-only]
#   --cpu-only  no GPU checks, FG_CUDA=OFF, quick benchmark: walks the same build path on any machine
# Exit: 0 all steps passed; 1 a step failed (named on stdout and in summary.md);
#       2 no GPU present (before anything is built); 3 a GPU but no nvcc.
# Environment: FG_GPU_CHECK_BUDGET seconds for the whole run (default 540), FG_GPU_CHECK_BUILD
# build folder (default build-gpu), FG_NVIDIA_SMI the nvidia-smi command, FG_GPU_CHECK_TESTS ON/OFF
# to force GoogleTest detection.
set -u -o pipefail

if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: $0 OUTDIR [--cpu-only]" >&2
    exit 64
fi
CPU_ONLY=0
[ "${2:-}" = "--cpu-only" ] && CPU_ONLY=1
START=$SECONDS
BUDGET=${FG_GPU_CHECK_BUDGET:-540}
SMI=${FG_NVIDIA_SMI:-nvidia-smi}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1" || exit 1
OUT=$(cd "$1" && pwd)
if [ $CPU_ONLY = 1 ]; then BUILD=${FG_GPU_CHECK_BUILD:-build-gpu-cpuonly}; else BUILD=${FG_GPU_CHECK_BUILD:-build-gpu}; fi
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

# ---------------------------------------------------------------- GPU and toolchain (nothing built yet)
no_gpu() {
    echo "no GPU present: $1"
    exit 2
}
GPU_NAME="none (--cpu-only)" NVCC_VERSION="not used (--cpu-only)" ARCH=""
if [ $CPU_ONLY = 0 ]; then
    command -v "$SMI" >/dev/null 2>&1 || no_gpu "$SMI not found (no NVIDIA driver on this machine)"
    smi_list=$(timeout 30 "$SMI" -L 2>&1)
    rc=$?
    [ $rc -eq 0 ] || no_gpu "'$SMI -L' failed (exit $rc): $(head -n 1 <<<"$smi_list")"
    grep -q '^GPU [0-9]' <<<"$smi_list" || no_gpu "'$SMI -L' lists no GPU: $(head -n 1 <<<"$smi_list")"

    NVCC=$(command -v nvcc 2>/dev/null || true)
    if [ -z "$NVCC" ]; then
        for d in /usr/local/cuda/bin $(ls -d /usr/local/cuda-*/bin 2>/dev/null | sort -rV) /opt/cuda/bin; do
            if [ -x "$d/nvcc" ]; then NVCC=$d/nvcc; break; fi
        done
    fi
    if [ -z "$NVCC" ]; then
        echo "no CUDA compiler: a GPU is present but nvcc is neither on PATH nor in /usr/local/cuda*/bin"
        exit 3
    fi
    export PATH="$(dirname "$NVCC"):$PATH"
    NVCC_VERSION=$("$NVCC" --version 2>&1 | grep -o 'release [0-9.]*, V[0-9.]*' | head -n 1)
    nvcc_major=$(grep -o 'release [0-9]*' <<<"$NVCC_VERSION" | cut -d' ' -f2)
    # Debian's nvcc 11.8 rejects the default g++; nvcc 12/13 need no override.
    if [ "$nvcc_major" = 11 ] && [ -z "${CUDAHOSTCXX:-}" ] && command -v clang++-14 >/dev/null 2>&1; then
        export CUDAHOSTCXX=clang++-14
    fi
    ARCH=$(timeout 30 "$SMI" --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .\r')
    if ! [[ "$ARCH" =~ ^[0-9]+$ ]]; then
        echo "warning: nvidia-smi gave no compute_cap; building for sm_90 (H100/H200)"
        ARCH=90
    fi
    GPU_NAME=$(timeout 30 "$SMI" --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
    GPU_NAME="$GPU_NAME, compute capability ${ARCH:0:-1}.${ARCH: -1}"
    { timeout 30 "$SMI"; echo; echo "$smi_list"; } >"$OUT/nvidia-smi.txt" 2>&1
    "$NVCC" --version >"$OUT/nvcc.txt" 2>&1
    echo "GPU: $GPU_NAME"
    echo "nvcc: $NVCC ($NVCC_VERSION)${CUDAHOSTCXX:+, CUDAHOSTCXX=$CUDAHOSTCXX}"
fi

# GoogleTest: build the native tests only where it is installed.
TESTS=${FG_GPU_CHECK_TESTS:-}
if [ -z "$TESTS" ]; then
    TESTS=OFF
    found=$(timeout 20 find /usr/lib /usr/lib64 /usr/local/lib /usr/local/lib64 /usr/share /opt -maxdepth 5 \
        \( -name GTestConfig.cmake -o -name 'libgtest.a' -o -name 'libgtest.so*' \) 2>/dev/null | head -n 1)
    [ -n "$found" ] && TESTS=ON
fi
echo "GoogleTest: $TESTS; build folder: $BUILD; time budget: ${BUDGET}s"

# ---------------------------------------------------------------- steps
STEPS=()  # "name|result|seconds|log"
FAILED=()

# run_step NAME CAP_SECONDS LOG CMD...: runs CMD with its output in LOG, bounded by CAP and by what
# is left of the budget; sets STEP_RC and STEP_SECS.
run_step() {
    local name=$1 cap=$2 log=$3
    shift 3
    local left=$((BUDGET - (SECONDS - START) - 20))
    local limit=$((cap < left ? cap : left))
    STEP_SECS=0
    if [ $limit -lt 10 ]; then
        STEP_RC=124
        echo "== $name: not started, time budget spent"
        return
    fi
    echo "== $name (limit ${limit}s): $*"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    STEP_RC=$?
    STEP_SECS=$((SECONDS - t0))
    STEP_LIMIT=$limit
}

# record NAME RESULT LOG [failed]: one line of the steps table; prints the log's tail on failure.
record() {
    STEPS+=("$1|$2|$STEP_SECS|$(basename "$3")")
    echo "== $1: $2 (${STEP_SECS}s, $3)"
    if [ "${4:-}" = failed ]; then
        FAILED+=("$1")
        if grep -q '^    FAIL' "$3" 2>/dev/null; then  # parity: the failed rows, not the tail
            echo "---- failed rows in $3"
            grep -h '^    ' "$3" | head -n 40
        else
            echo "---- last lines of $3"
            tail -n 30 "$3" 2>/dev/null | sed 's/^/    /'
        fi
        echo "----"
    fi
}

# result_of RC: the text for a step's exit code.
result_of() {
    case $1 in
    0) echo "PASS" ;;
    124 | 137) echo "TIMEOUT after ${STEP_LIMIT:-?}s" ;;
    *) echo "FAILED (exit $1)" ;;
    esac
}

write_summary() {
    local s=$OUT/summary.md
    {
        echo "# ForwardGrad GPU check"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host $(hostname 2>/dev/null)"
        echo "- GPU: $GPU_NAME"
        echo "- nvcc: $NVCC_VERSION${CUDAHOSTCXX:+ (host compiler $CUDAHOSTCXX)}"
        echo "- cmake: $(cmake --version 2>/dev/null | head -n 1)"
        grep -h -o 'ForwardGrad CPU GEMM: .*\|ForwardGrad CUDA backend: .*' "$OUT/configure.log" 2>/dev/null | sed 's/^/- /'
        echo "- CPU: $(nproc 2>/dev/null) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
        echo "- GoogleTest tests built: $TESTS"
        echo "- total time: $((SECONDS - START)) s"
        echo
        echo "## Steps"
        echo
        echo "| step | result | seconds | log |"
        echo "|---|---|---|---|"
        local line
        for line in "${STEPS[@]}"; do echo "| ${line//|/ | } |"; done
        echo
        if [ ${#FAILED[@]} -gt 0 ]; then echo "**FAILED: ${FAILED[*]}**"; else echo "All steps passed."; fi
        if [ -f "$OUT/parity.log" ]; then
            echo
            echo "## CPU vs CUDA parity"
            echo
            grep -h '^parity summary:\|^no CUDA device:\|^FAIL' "$OUT/parity.log" || echo "(no summary line: the run did not finish)"
            if grep -q '^    FAIL' "$OUT/parity.log"; then
                echo
                echo "Failed rows (op, case, first mismatching indices):"
                echo
                echo '```'
                grep -h '^    ' "$OUT/parity.log" | head -n 120
                echo '```'
            fi
        fi
        if [ -f "$OUT/ctest.log" ]; then
            echo
            echo "## ctest"
            echo
            echo '```'
            grep -h 'tests passed\|tests failed\|(Failed)\|(Timeout)\|Not Run\|Total Test time' "$OUT/ctest.log" | head -n 40
            echo "skipped: $(grep -c '(Skipped)' "$OUT/ctest.log") (on a GPU machine CUDA tests should not skip)"
            echo '```'
        fi
        if [ -f "$OUT/bench.log" ]; then
            echo
            echo "## Benchmark (fg_gpu_bench)"
            echo
            grep -v '^fg_gpu_bench ' "$OUT/bench.log" | sed 's/^## /### /'
        fi
    } >"$s"
}

finish() {
    write_summary
    echo
    local line
    for line in "${STEPS[@]}"; do echo "  ${line//|/  }"; done
    [ -f "$OUT/parity.log" ] && grep -h '^parity summary:' "$OUT/parity.log" | sed 's/^/  /'
    echo "summary: $OUT/summary.md"
    if [ ${#FAILED[@]} -gt 0 ]; then
        echo "GPU CHECK FAILED at: ${FAILED[*]}"
        exit 1
    fi
    echo "GPU CHECK PASSED"
    exit 0
}

command -v cmake >/dev/null 2>&1 || {
    STEP_SECS=0
    echo "cmake not found" >"$OUT/configure.log"
    record configure "FAILED (cmake not found)" "$OUT/configure.log" failed
    finish
}

# 1. configure
cfg=(cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DFG_BUILD_TESTS=$TESTS -DFG_BUILD_BENCHMARKS=OFF
    -DFG_BUILD_GPU_CHECK=ON)
if [ $CPU_ONLY = 1 ]; then
    cfg+=(-DFG_CUDA=OFF)
else
    cfg+=(-DFG_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCMAKE_CUDA_COMPILER="$NVCC")
fi
run_step configure 120 "$OUT/configure.log" "${cfg[@]}"
if [ $STEP_RC -ne 0 ]; then
    record configure "$(result_of $STEP_RC)" "$OUT/configure.log" failed
    finish
fi
record configure PASS "$OUT/configure.log"

# 2. build (all targets: the library, the CUDA plug-in, the check tools, the tests when configured)
run_step build 300 "$OUT/build.log" cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 4)"
if [ $STEP_RC -ne 0 ]; then
    record build "$(result_of $STEP_RC)" "$OUT/build.log" failed
    finish
fi
if [ $CPU_ONLY = 0 ] && ! ls "$BUILD"/lib/libforwardgrad_cuda.* >/dev/null 2>&1; then
    echo "the build finished without lib/libforwardgrad_cuda" >>"$OUT/build.log"
    record build "FAILED (no CUDA plug-in built)" "$OUT/build.log" failed
    finish
fi
record build PASS "$OUT/build.log"

# 3. parity: every op, CPU vs CUDA
run_step parity 150 "$OUT/parity.log" "$BUILD/bin/fg_gpu_parity"
case $STEP_RC in
0) record parity "PASS ($(grep -o '[0-9]* PASS' "$OUT/parity.log" | head -n 1))" "$OUT/parity.log" ;;
77)
    if [ $CPU_ONLY = 1 ]; then
        record parity "SKIPPED (no CUDA backend, as expected with --cpu-only)" "$OUT/parity.log"
    else
        record parity "FAILED: a GPU is present but $(head -n 1 "$OUT/parity.log")" "$OUT/parity.log" failed
    fi
    ;;
1) record parity "FAILED ($(grep -h '^parity summary:' "$OUT/parity.log" | cut -d: -f2))" "$OUT/parity.log" failed ;;
*) record parity "$(result_of $STEP_RC)" "$OUT/parity.log" failed ;;
esac

# 4. benchmark (CUDA first, then the CPU cases that fit its per-call cap)
bench_args=()
[ $CPU_ONLY = 1 ] && bench_args=(--quick)
run_step bench 240 "$OUT/bench.log" "$BUILD/bin/fg_gpu_bench" ${bench_args[@]+"${bench_args[@]}"}
if [ $STEP_RC -eq 0 ]; then
    record bench "PASS ($(grep -c '^| \(cpu\|cuda\) | ' "$OUT/bench.log") rows)" "$OUT/bench.log"
else
    record bench "$(result_of $STEP_RC), partial table kept" "$OUT/bench.log" failed
fi

# 5. the GoogleTest suite, when built (its CUDA cases run here); last: it gets what time is left
if [ "$TESTS" = ON ] && [ -f "$BUILD/CTestTestfile.cmake" ]; then
    run_step ctest 180 "$OUT/ctest.log" sh -c 'cd "$1" && exec ctest --output-on-failure -j 4 --timeout 150 -E "^gpu_check\."' \
        sh "$BUILD"
    if [ $STEP_RC -eq 0 ]; then
        record ctest "PASS ($(grep -h 'tests passed' "$OUT/ctest.log" | head -n 1))" "$OUT/ctest.log"
    else
        record ctest "$(result_of $STEP_RC) ($(grep -h 'tests passed' "$OUT/ctest.log" | head -n 1))" "$OUT/ctest.log" failed
    fi
fi

finish
