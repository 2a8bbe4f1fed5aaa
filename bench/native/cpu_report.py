#!/usr/bin/env python3
"""The CPU performance report of docs/PERFORMANCE.md, from one command on an idle machine:

    python3 bench/native/cpu_report.py [--bench build/bench/native/fg_bench] [--baseline OLD_FG_BENCH] > report.md

Runs, each as its own fg_bench process (the GEMM provider is chosen once per process):
  1. BM_GemmProviders: every loadable GEMM provider on the methods' GEMM shapes, in turn.
  2. BM_MixerRatio for S/1/1, M/1/16 and M/8/16: BP, LG-BP, LG-FG-A K=1 and K=4 and a 1024^3 sgemm in turn.
  3. One M/8/16 step kind per process (BP, LG-BP, LG-FG-A K=1/K=4, FG-A K=4): step time, workspace, peak RSS.
  4. The fused linear JVP against one plain provider GEMM of the same stacked shape.
  5. With --baseline (an fg_bench built from an older tree): S/1/1 and M/1/16 steps of both binaries, in
     alternating processes, and the ratio of their medians.
Prints Markdown. Environment variables (OPENBLAS_CORETYPE, FG_GEMM_PROVIDER, ...) pass through.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys


def run(bench, pattern, min_time, env=None):
    """Runs fg_bench on one filter; returns {name: benchmark record} (iteration records only)."""
    cmd = [bench, f"--benchmark_filter={pattern}", f"--benchmark_min_time={min_time}", "--benchmark_format=json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env or os.environ.copy()).stdout
    return {b["name"]: b for b in json.loads(out)["benchmarks"] if b.get("run_type", "iteration") == "iteration"}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", default="build/bench/native/fg_bench")
    ap.add_argument("--baseline", help="an fg_bench built from another tree, or this one with --baseline-env, for the "
                                       "S/1/1 and M/1/16 step ratio")
    ap.add_argument("--baseline-env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment of the baseline's runs only, e.g. OPENBLAS_CORETYPE=Prescott to reproduce a "
                         "build that ran OpenBLAS's SSE3 fallback")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of the baseline comparison")
    ap.add_argument("--baseline-only", action="store_true", help="only the comparison with --baseline")
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; `nproc` threads by default. "
          f"Environment: OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"FG_GEMM_PROVIDER={os.environ.get('FG_GEMM_PROVIDER', '(unset: auto)')}.\n")

    if not args.baseline_only:
        report_this_build(args)
    if args.baseline:
        compare_with_baseline(args)
    return 0


def report_this_build(args):
    # 1. providers
    prov = run(args.bench, "BM_GemmProviders/", 1)
    ids = ["openblas", "onednn", "internal"]
    first = next(iter(prov.values()), {})
    print(f"### GEMM providers on the methods' shapes (GFLOP/s, in turn)\n\nProviders: {first.get('label', '?')}\n")
    rows = []
    for name, b in prov.items():
        shape = name.split("/")[1]
        rows.append([shape] + [f"{b[i + '_GFLOPs']:.0f}" if i + "_GFLOPs" in b else "n/a" for i in ids])
    print(table(["shape"] + ids, rows) + "\n")

    # 1b. the group layers on the library's narrow-GEMM kernels against the provider (FG_NARROW_GEMM=0), one
    # process each, alternating, best of the rounds
    print("### Group layers: narrow-GEMM kernels against the provider (ms, best of 2 alternating processes)\n")
    pattern = "BM_Linear(Jvp|Backprop)/cpu/(M1_16|M8_16|L8_64)/group_[^/]*/B100(/K(1|4))?/"
    best = {"0": {}, "1": {}}
    for _ in range(2):
        for mode in ("0", "1"):
            for name, b in run(args.bench, pattern, 0.5, dict(os.environ, FG_NARROW_GEMM=mode)).items():
                best[mode][name] = min(best[mode].get(name, float("inf")), b["real_time"])
    rows = []
    for name, off in best["0"].items():
        on = best["1"].get(name)
        if on:
            case = "/".join(name.split("/")[0:1] + name.split("/")[2:6]).replace("/real_time", "")
            rows.append([case, f"{off:.2f}", f"{on:.2f}", f"{off / on:.2f}x"])
    print(table(["layer", "provider ms", "narrow kernels ms", "speed-up"], rows) + "\n")

    # 2. step ratios
    print("### Training steps in turn (batch 100; `BM_MixerRatio`)\n")
    rows = []
    for cfg, t in (("S1_1", 3), ("M1_16", 3), ("M8_16", 20)):
        r = run(args.bench, f"BM_MixerRatio/{cfg}/cpu", t)
        for b in r.values():
            rows.append([cfg, f"{b['sgemm_GFLOPs']:.0f}", f"{b['BP_ms']:.1f}", f"{b['LGBP_ms']:.1f}", f"{b['LGFGA_K1_ms']:.1f}",
                         f"{b['LGFGA_K4_ms']:.1f}", f"{b['BP_gemm_frac']:.2f}", f"{b['LGBP_gemm_frac']:.2f}",
                         f"{b['x_LGBP']:.2f}", f"{b['K4_x_K1']:.2f}", int(b["iterations"])])
    print(table(["config", "sgemm GFLOP/s", "BP ms", "LG-BP ms", "LG-FG-A K1 ms", "LG-FG-A K4 ms", "BP rate / sgemm",
                 "LG-BP rate / sgemm", "LG-FG-A K1 / LG-BP", "K4 / K1", "rotations"], rows) + "\n")

    # 3. memory, one step kind per process
    print("### M/8/16 memory, one step kind per process (batch 100)\n")
    rows = []
    for step in ("BP", "LGBP", "LGFGA/K1", "LGFGA/K4", "FGA/K4"):
        r = run(args.bench, f"BM_MixerStep/M8_16/{step}/cpu/", 2)
        for b in r.values():
            rows.append([step.replace("/", " "), f"{b['real_time']:.0f}", f"{b['workspace_MB']:.0f}", f"{b['peak_rss_MB']:.0f}"])
    print(table(["method", "step ms", "workspace MB", "process peak RSS MB"], rows) + "\n")

    # 4. fused JVP vs the provider's plain GEMM of the same stacked shape
    print("### Fused linear JVP against one plain GEMM of the same stacked shape (`BM_LinearJvp` / `BM_LinearBlas`)\n")
    r = run(args.bench, "BM_Linear(Jvp|Blas)/cpu/(S1_1|M1_16|M8_16)/(dense|token)[^/]*/B100/K(1|4)/", 0.5)
    rows = []
    for name, b in r.items():
        if not name.startswith("BM_LinearJvp/"):
            continue
        plain = r.get(name.replace("BM_LinearJvp/", "BM_LinearBlas/"))
        if plain:
            case = "/".join(name.split("/")[2:6])
            rows.append([case, f"{b['real_time']:.2f}", f"{plain['real_time']:.2f}", f"{plain['real_time'] / b['real_time'] * 100:.0f}%"])
    print(table(["layer", "fused ms", "plain GEMM ms", "fused rate / GEMM rate"], rows) + "\n")

    # 6. the loop threads beside the GEMM provider's threads
    print("### Loop threads beside the GEMM threads (`bench_parallel.cpp`, microseconds)\n")
    r = run(args.bench, "BM_(LoopAfterGemm|LoopIdle|GemmAfterLoop)/", 0.3)
    rows = []
    for op in ("0", "1", "2", "3"):
        cells = []
        label = ""
        for kind in ("LoopIdle", "LoopAfterGemm"):
            for loops in ("1", "2"):
                b = r.get(f"BM_{kind}/op:{op}/loops:{loops}/manual_time")
                label = b.get("label", label) if b else label
                cells.append(f"{b['real_time']:.0f}" if b else "n/a")
        rows.append([label] + cells)
    print(table(["op (M/8/16 activation)", "idle, 1 loop thread", "idle, 2", "after a GEMM, 1", "after a GEMM, 2"], rows))
    gemm = [r.get(f"BM_GemmAfterLoop/loops:{t}/manual_time") for t in ("1", "2")]
    if all(gemm):
        print(f"\n512^3 GEMM right after the noise draw on 1 / 2 loop threads: {gemm[0]['real_time'] * 1e3:.0f} / "
              f"{gemm[1]['real_time'] * 1e3:.0f} us.\n")



def compare_with_baseline(args):
    # 5. against another fg_bench (an older build), or this one under other settings (--baseline-env)
    base_env = os.environ.copy()
    base_env.update(kv.split("=", 1) for kv in args.baseline_env)
    note = f" with {' '.join(args.baseline_env)}" if args.baseline_env else ""
    print(f"### Steps against the baseline {args.baseline}{note} (alternating processes, medians)\n")
    pattern = "BM_MixerStep/(S1_1|M1_16)/(BP|LGBP|LGFGA/K1)/cpu/"
    times = {"new": {}, "old": {}}
    for _ in range(args.rounds):
        for which, bench, env in (("old", args.baseline, base_env), ("new", args.bench, None)):
            for name, b in run(bench, pattern, 1, env).items():
                times[which].setdefault(name, []).append(b["real_time"])
    rows = []
    for name in sorted(times["new"]):
        if name in times["old"]:
            new, old = statistics.median(times["new"][name]), statistics.median(times["old"][name])
            rows.append(["/".join(name.split("/")[1:-2]), f"{old:.2f}", f"{new:.2f}", f"{old / new:.2f}x"])
    print(table(["step", "baseline ms", "this build ms", "speed-up"], rows) + "\n")


if __name__ == "__main__":
    sys.exit(main())
