#!/usr/bin/env bash
# Rehearses gpu_check.sh --dry-run: GoogleTest built from source, configure and build (with CUDA
# when CUDA is ON: nvcc and a host compiler it accepts must be found), the parity check skipping
# for want of a GPU, ctest over what was built, the quick benchmark, and a summary naming them all.
# The build is limited to the parity and benchmark tools (the plug-in comes along when CUDA is ON);
# the main build already compiles the test suite the same way.
# Usage: dry_run_test.sh PATH/TO/gpu_check.sh OUTDIR BUILDDIR CUDA(ON|OFF) GTEST_SOURCE
script=$1 out=$2 build=$3 cuda=$4 gtest=$5
rm -rf "$out"
log=$(FG_GPU_CHECK_BUILD="$build" FG_GPU_CHECK_CUDA="$cuda" FG_GPU_CHECK_TARGETS="fg_gpu_parity fg_gpu_bench" \
    FG_GPU_CHECK_GTEST=source FG_GTEST_SOURCE="$gtest" FG_GPU_CHECK_BUDGET=1500 bash "$script" "$out" --dry-run 2>&1)
rc=$?
echo "$log"
fail() {
    echo "FAIL: $1"
    [ -f "$out/summary.md" ] && cat "$out/summary.md"
    exit 1
}
[ "$rc" -eq 0 ] || fail "expected exit code 0, got $rc"
summary=$out/summary.md
[ -f "$summary" ] || fail "no summary.md"
grep -q 'dry run' "$summary" || fail "the summary does not say it is a dry run"
grep -q '^| googletest | PASS (from source)' "$summary" || fail "GoogleTest was not built from source"
grep -q '^| configure | PASS' "$summary" || fail "configure did not pass"
grep -q '^| build | PASS' "$summary" || fail "build did not pass"
grep -q '^| parity | SKIPPED (no GPU' "$summary" || fail "parity did not skip for want of a GPU"
grep -q '^| ctest | PASS (0 passed, 0 failed, 1 skipped of 1)' "$summary" || fail "ctest did not run the parity test"
grep -q '^| gpu_check.parity | Skipped' "$summary" || fail "no verdict row for gpu_check.parity"
grep -q '^| bench | PASS' "$summary" || fail "the quick benchmark did not pass"
if [ "$cuda" = ON ]; then
    grep -q '^-> accepted: ' "$out/host-compiler.log" || fail "no host compiler accepted"
    grep -q 'ForwardGrad CUDA backend: ON' "$summary" || fail "the CUDA plug-in was not configured"
    grep -q '^| build | PASS (one CUDA runtime: libcudart' "$summary" || fail "no single-runtime check"
    grep -q 'CUDA plug-in loaded, but' "$out/parity.log" || fail "the parity tool did not load the plug-in"
fi
echo PASS
