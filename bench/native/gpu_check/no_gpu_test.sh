#!/usr/bin/env bash
# Passes when gpu_check.sh, run where no nvidia-smi works, says "no GPU present" and exits 2
# quickly, before configuring or building anything.
# Usage: no_gpu_test.sh PATH/TO/gpu_check.sh OUTDIR
script=$1 out=$2
rm -rf "$out"
start=$SECONDS
log=$(FG_NVIDIA_SMI=fg-no-such-nvidia-smi bash "$script" "$out" 2>&1)
rc=$?
echo "$log"
echo "exit code $rc after $((SECONDS - start)) s"
[ "$rc" -eq 2 ] || { echo "FAIL: expected exit code 2"; exit 1; }
grep -q "no GPU present" <<<"$log" || { echo "FAIL: no 'no GPU present' message"; exit 1; }
[ $((SECONDS - start)) -le 10 ] || { echo "FAIL: took too long"; exit 1; }
ls "$out"/*.log >/dev/null 2>&1 && { echo "FAIL: a build or run step started"; exit 1; }
echo PASS
