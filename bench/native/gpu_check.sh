#!/usr/bin/env bash
# Proves the CUDA backend on a GPU machine in one go: builds with CUDA, runs the CPU-vs-CUDA parity
# check, the whole native GoogleTest suite (its CUDA cases included) and the kernel benchmark, and
# writes
#   OUTDIR/summary.md      GPU and compute capability, toolchain, step results, every test's
#                          verdict, parity counts and failures, the benchmark table
#   OUTDIR/nvidia-smi.txt  OUTDIR/nvcc.txt  OUTDIR/host-compiler.log
#   OUTDIR/gtest-build.log configure.log build.log parity.log ctest.log bench.log
# Usage (from the repository root):
#   bench/native/gpu_check.sh --prepare         on a machine with GoogleTest sources (Debian's
#       googletest package: /usr/src/googletest): copies them into third_party/googletest, which
#       is git-ignored; carry that folder to the GPU machine, which needs no GoogleTest installed
#   bench/native/gpu_check.sh OUTDIR            the check (needs a GPU, nvcc and CMake)
#   bench/native/gpu_check.sh OUTDIR --dry-run  every step that needs no GPU, on any machine: the
#       host-compiler probe, GoogleTest from source, configure and build (with CUDA where nvcc
#       exists), the parity check and the test suite (their CUDA cases skip), the quick benchmark
# Exit: 0 all steps passed; 1 a step failed (named on stdout and in summary.md);
#       2 no GPU present (before anything is built); 3 a GPU but no nvcc or no host compiler it accepts.
# Environment: FG_GPU_CHECK_BUDGET seconds for the whole run (default 480), FG_GPU_CHECK_BUILD build
# folder (default build-gpu, build-gpu-dry for --dry-run), FG_NVIDIA_SMI the nvidia-smi command,
# FG_GPU_CHECK_ARCHS CMAKE_CUDA_ARCHITECTURES (default: the project's, plus the GPU's own when
# those cannot run on it natively), FG_GPU_CHECK_CUDA=OFF a dry run without CUDA,
# FG_GPU_CHECK_TARGETS build only these targets (without fg_tests, ctest runs the parity test alone),
# FG_GTEST_SOURCE GoogleTest sources to build when none is installed (default third_party/googletest),
# FG_GPU_CHECK_GTEST=source build those even where GoogleTest is installed.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" = "--prepare" ]; then
    src=${FG_GTEST_SOURCE:-/usr/src/googletest}
    [ -f "$src/CMakeLists.txt" ] || {
        echo "no GoogleTest sources at $src (apt-get install googletest, or set FG_GTEST_SOURCE)" >&2
        exit 1
    }
    rm -rf "$ROOT/third_party/googletest"
    mkdir -p "$ROOT/third_party"
    cp -r "$src" "$ROOT/third_party/googletest" || exit 1
    echo "GoogleTest sources copied from $src to third_party/googletest (carry it to the GPU machine)"
    exit 0
fi

if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: $0 OUTDIR [--dry-run]  |  $0 --prepare" >&2
    exit 64
fi
DRY=0
case "${2:-}" in
"") ;;
--dry-run) DRY=1 ;;
*)
    echo "unknown option '$2' (use --dry-run)" >&2
    exit 64
    ;;
esac
START=$SECONDS
BUDGET=${FG_GPU_CHECK_BUDGET:-480}
SMI=${FG_NVIDIA_SMI:-nvidia-smi}
mkdir -p "$1" || exit 1
OUT=$(cd "$1" && pwd)
if [ $DRY = 1 ]; then BUILD=${FG_GPU_CHECK_BUILD:-build-gpu-dry}; else BUILD=${FG_GPU_CHECK_BUILD:-build-gpu}; fi
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
JOBS=$(nproc 2>/dev/null || echo 4)
# shellcheck source=gpu_check/toolchain.sh
. "$ROOT/bench/native/gpu_check/toolchain.sh"

# ---------------------------------------------------------------- GPU and toolchain (nothing built yet)
no_gpu() {
    echo "no GPU present: $1"
    exit 2
}
GPU_NAME="none (dry run)" NVCC_VERSION="not found" ARCH="" NVCC="" CUDA=OFF
if [ $DRY = 1 ]; then
    export CUDA_VISIBLE_DEVICES=-1  # a dry run uses no GPU, even where there is one
else
    command -v "$SMI" >/dev/null 2>&1 || no_gpu "$SMI not found (no NVIDIA driver on this machine)"
    smi_list=$(timeout 30 "$SMI" -L 2>&1)
    rc=$?
    [ $rc -eq 0 ] || no_gpu "'$SMI -L' failed (exit $rc): $(head -n 1 <<<"$smi_list")"
    grep -q '^GPU [0-9]' <<<"$smi_list" || no_gpu "'$SMI -L' lists no GPU: $(head -n 1 <<<"$smi_list")"
    ARCH=$(timeout 30 "$SMI" --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .\r')
    if ! [[ "$ARCH" =~ ^[0-9]+$ ]]; then
        echo "warning: nvidia-smi gave no compute_cap; assuming sm_90 (H100/H200)"
        ARCH=90
    fi
    GPU_NAME=$(timeout 30 "$SMI" --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
    GPU_NAME="$GPU_NAME; compute capability ${ARCH:0:-1}.${ARCH: -1} (sm_$ARCH); $(grep -c '^GPU [0-9]' <<<"$smi_list") GPU(s)"
    { timeout 30 "$SMI"; echo; echo "$smi_list"; } >"$OUT/nvidia-smi.txt" 2>&1
fi

if [ "${FG_GPU_CHECK_CUDA:-ON}" != OFF ]; then NVCC=$(find_nvcc); fi
if [ -n "$NVCC" ]; then
    export PATH="$(dirname "$NVCC"):$PATH"
    "$NVCC" --version >"$OUT/nvcc.txt" 2>&1
    NVCC_VERSION="$NVCC ($(grep -o 'release [0-9.]*, V[0-9.]*' "$OUT/nvcc.txt" | head -n 1))"
    if ! HOST_CXX=$(pick_host_compiler "$NVCC" "$OUT/host-compiler.log"); then
        echo "nvcc accepts none of the host compilers tried (see $OUT/host-compiler.log)"
        tail -n 20 "$OUT/host-compiler.log"
        [ $DRY = 1 ] || exit 3
    else
        CUDA=ON
        if [ "$HOST_CXX" = default ]; then unset CUDAHOSTCXX; else export CUDAHOSTCXX=$HOST_CXX; fi
    fi
elif [ $DRY = 0 ]; then
    echo "no CUDA compiler: a GPU is present but nvcc is neither on PATH nor in /usr/local/cuda*/bin"
    exit 3
fi
ARCHS=${FG_GPU_CHECK_ARCHS:-$(cuda_architectures_for "$ARCH")}
echo "GPU: $GPU_NAME"
echo "nvcc: $NVCC_VERSION${CUDAHOSTCXX:+, CUDAHOSTCXX=$CUDAHOSTCXX}; CUDA build: $CUDA${ARCHS:+ (architectures $ARCHS)}"

# ---------------------------------------------------------------- steps
STEPS=()  # "name|result|seconds|log"
FAILED=()
STEP_SECS=0

# run_step NAME CAP_SECONDS LOG CMD...: runs CMD with its output in LOG, bounded by CAP and by what
# is left of the budget; sets STEP_RC and STEP_SECS.
run_step() {
    local name=$1 cap=$2 log=$3
    shift 3
    local left=$((BUDGET - (SECONDS - START) - 15))
    local limit=$((cap < left ? cap : left))
    STEP_SECS=0
    STEP_LIMIT=$limit
    if [ $limit -lt 10 ]; then
        STEP_RC=124
        echo "time budget spent before this step" >"$log"
        echo "== $name: not started, time budget spent"
        return
    fi
    echo "== $name (limit ${limit}s): $*"
    local t0=$SECONDS
    if declare -F "$1" >/dev/null; then  # a function of toolchain.sh: timeout needs a program
        set -- bash -c '. "$0"; "$@"' "$ROOT/bench/native/gpu_check/toolchain.sh" "$@"
    fi
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    STEP_RC=$?
    STEP_SECS=$((SECONDS - t0))
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
        echo "# ForwardGrad GPU check$([ $DRY = 1 ] && echo ' (dry run: no GPU used)')"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host $(hostname 2>/dev/null)"
        echo "- GPU: $GPU_NAME"
        echo "- nvcc: $NVCC_VERSION; host compiler: ${CUDAHOSTCXX:-the default of nvcc}; CUDA architectures: ${ARCHS:-none}"
        echo "- cmake: $(cmake --version 2>/dev/null | head -n 1)"
        grep -h -o 'ForwardGrad CPU GEMM: .*\|ForwardGrad CUDA backend: .*' "$OUT/configure.log" 2>/dev/null | sed 's/^/- /'
        grep -h -o '^CUDA backend: .*' "$OUT/parity.log" 2>/dev/null | head -n 1 | sed 's/^/- /'
        grep -h '^forwardgrad CUDA: ' "$OUT"/*.log 2>/dev/null | sort -u | head -n 3 | sed 's/^/- /'
        echo "- CPU: $JOBS cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
        echo "- GoogleTest: $GTEST_FROM"
        echo "- total time: $((SECONDS - START)) s of a ${BUDGET} s budget"
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
            echo "## Native test suite (ctest)"
            echo
            ctest_verdicts "$OUT/ctest.log"
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

GTEST_FROM="not needed"
command -v cmake >/dev/null 2>&1 || {
    echo "cmake not found" >"$OUT/configure.log"
    record configure "FAILED (cmake not found)" "$OUT/configure.log" failed
    finish
}

# 1. GoogleTest: the installed one, else built from the carried sources, else no test suite.
TESTS=ON
GTEST_ARGS=()
if [ "${FG_GPU_CHECK_GTEST:-}" != source ] && gtest_installed; then
    GTEST_FROM="installed on this machine"
else
    GTEST_SRC=${FG_GTEST_SOURCE:-$ROOT/third_party/googletest}
    if [ -f "$GTEST_SRC/CMakeLists.txt" ]; then
        GTEST_PREFIX=$BUILD/googletest-install
        run_step googletest 150 "$OUT/gtest-build.log" build_googletest "$GTEST_SRC" "$BUILD/googletest-build" \
            "$GTEST_PREFIX" "$JOBS"
        if [ $STEP_RC -eq 0 ]; then
            GTEST_FROM="built from $GTEST_SRC"
            GTEST_ARGS=(-DCMAKE_PREFIX_PATH="$GTEST_PREFIX" -DGTest_ROOT="$GTEST_PREFIX")
            record googletest "PASS (from source)" "$OUT/gtest-build.log"
        else
            TESTS=OFF
            GTEST_FROM="build from $GTEST_SRC failed: no test suite"
            record googletest "$(result_of $STEP_RC)" "$OUT/gtest-build.log" failed
        fi
    else
        TESTS=OFF
        GTEST_FROM="none: not installed and no sources at $GTEST_SRC (run --prepare where googletest is installed)"
        echo "warning: GoogleTest $GTEST_FROM"
    fi
fi

# 2. configure
cfg=(cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DFG_BUILD_TESTS=$TESTS -DFG_BUILD_BENCHMARKS=OFF
    -DFG_BUILD_GPU_CHECK=ON -DFG_CUDA=$CUDA ${GTEST_ARGS[@]+"${GTEST_ARGS[@]}"})
[ $CUDA = ON ] && cfg+=(-DCMAKE_CUDA_ARCHITECTURES="$ARCHS" -DCMAKE_CUDA_COMPILER="$NVCC")
run_step configure 120 "$OUT/configure.log" "${cfg[@]}"
if [ $STEP_RC -ne 0 ]; then
    record configure "$(result_of $STEP_RC)" "$OUT/configure.log" failed
    finish
fi
if [ $TESTS = ON ] && grep -q 'GoogleTest not found' "$OUT/configure.log"; then
    TESTS=OFF
    GTEST_FROM="$GTEST_FROM, but CMake did not find it: no test suite"
    record configure "FAILED (GoogleTest not found by CMake)" "$OUT/configure.log" failed
else
    record configure PASS "$OUT/configure.log"
fi

# 3. build (the library, the CUDA plug-in, the check tools, the test suite), then one CUDA runtime only
targets=()
for t in ${FG_GPU_CHECK_TARGETS:-}; do targets+=(--target "$t"); done
run_step build 300 "$OUT/build.log" cmake --build "$BUILD" -j "$JOBS" ${targets[@]+"${targets[@]}"}
if [ $STEP_RC -ne 0 ]; then
    record build "$(result_of $STEP_RC)" "$OUT/build.log" failed
    finish
fi
if [ $CUDA = ON ]; then
    if ! runtime=$(check_one_cuda_runtime "$BUILD" 2>&1); then
        echo "$runtime" >>"$OUT/build.log"
        record build "FAILED ($runtime)" "$OUT/build.log" failed
        finish
    fi
    record build "PASS ($runtime)" "$OUT/build.log"
else
    record build PASS "$OUT/build.log"
fi

# 4. parity: every entry of the op table (tests/native/ops_table), CUDA vs CPU vs float64 oracle
run_step parity 150 "$OUT/parity.log" "$BUILD/bin/fg_gpu_parity"
case $STEP_RC in
0) record parity "PASS ($(grep -o '[0-9]* PASS' "$OUT/parity.log" | head -n 1))" "$OUT/parity.log" ;;
77)
    if [ $DRY = 1 ]; then
        record parity "SKIPPED (no GPU: $(grep -h -m1 '^no CUDA device:' "$OUT/parity.log" | cut -c 17- | cut -c 1-120))" \
            "$OUT/parity.log"
    else
        record parity "FAILED: a GPU is present but $(head -n 1 "$OUT/parity.log")" "$OUT/parity.log" failed
    fi
    ;;
1) record parity "FAILED ($(grep -h '^parity summary:' "$OUT/parity.log" | cut -d: -f2))" "$OUT/parity.log" failed ;;
*) record parity "$(result_of $STEP_RC)" "$OUT/parity.log" failed ;;
esac

# 5. the GoogleTest suite, CPU and CUDA cases (the summary lists every skipped test); where the
# build was limited to other targets, the tests of what was built (the parity check again)
if [ $TESTS = ON ]; then
    if [ -x "$BUILD/bin/fg_tests" ]; then select=(-E '^gpu_check\.'); else select=(-R '^gpu_check\.parity$'); fi
    run_step ctest 200 "$OUT/ctest.log" sh -c 'cd "$1" && shift && exec ctest --output-on-failure --timeout 150 "$@"' \
        sh "$BUILD" -j "$((JOBS < 8 ? JOBS : 8))" "${select[@]}"
    counts=$(ctest_counts "$OUT/ctest.log")
    if [ $STEP_RC -ne 0 ]; then
        record ctest "$(result_of $STEP_RC) ($counts)" "$OUT/ctest.log" failed
    else
        record ctest "PASS ($counts)" "$OUT/ctest.log"
    fi
fi

# 6. benchmark (CUDA first, then the CPU cases that fit its per-call cap); last, so it gets what is left
# FP32 and TF32 CUDA cases with TF32's error against FP32, then the smaller CPU cases for comparison
bench_args=(--tf32 --cpu-max-gflop 0.5)
[ $DRY = 1 ] && bench_args=(--quick)
run_step bench 150 "$OUT/bench.log" "$BUILD/bin/fg_gpu_bench" ${bench_args[@]+"${bench_args[@]}"}
if [ $STEP_RC -eq 0 ]; then
    record bench "PASS ($(grep -c '^| \(cpu\|cuda\|cuda-tf32\) | ' "$OUT/bench.log") rows)" "$OUT/bench.log"
else
    record bench "$(result_of $STEP_RC), partial table kept" "$OUT/bench.log" failed
fi

finish
