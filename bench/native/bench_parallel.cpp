// Do the element-wise loops' threads (native/src/cpu/parallel.h) and the GEMM provider's threads fight
// over the cores? The loops' workers block between loops; OpenBLAS's idle threads sleep at once (the
// library sets OPENBLAS_THREAD_TIMEOUT=4 unless the user set it; a larger value makes them spin with
// sched_yield after each GEMM). Two directions to measure, each with the loops on 1 thread and on 2:
//   BM_LoopAfterGemm/<op>/loops:<t>   an element-wise op timed right after a 512^3 GEMM: do the GEMM's
//                                     threads, still spinning or going to sleep, slow the loop?
//   BM_LoopIdle/<op>/loops:<t>        the same op with no GEMM before it (a loop after a loop).
//   BM_GemmAfterLoop/loops:<t>        a 512^3 GEMM timed right after the noise draw on t threads:
//                                     do the loop's workers slow the GEMM?
// ops: noise (fg_random_normal of 100 x 64 x 512 values, an M/8/16 activation), layernorm
// (fg_layernorm_forward of 6400 rows x 512), relu_jvp (one tangent over 100 x 64 x 512), relu_backward
// (the same count).
// Only the named part is timed (manual time). bench/native/bench_mixer.cpp's */cpu_loops1 cases give
// the effect on whole training steps.
#include <chrono>

#include "bench_util.h"

namespace {

constexpr int64_t kRows = 6400, kWidth = 512, kCount = kRows * kWidth, kGemm = 512;

enum Op { kNoise, kLayerNorm, kReluJvp, kReluBackward };
const char* kOpNames[] = {"noise", "layernorm", "relu_jvp", "relu_backward"};

struct Inputs {
    fgbench::Buffer x, y, mean, rstd, zdot, u, a, adot, ga, gb, gc;
    explicit Inputs(fg_context* c)
        : x(c, kCount, 0.3f), y(c, kCount), mean(c, kRows), rstd(c, kRows), zdot(c, kCount, 0.1f), u(c, kCount, 0.2f),
          a(c, kCount), adot(c, kCount), ga(c, kGemm * kGemm, 0.01f), gb(c, kGemm * kGemm, 0.01f), gc(c, kGemm * kGemm) {
        fg_random_normal(c, x, kCount, 1, 0, 0);  // LayerNorm and ReLU on varied data, not a constant
    }
};

void run_op(fg_context* c, Inputs& in, Op op) {
    switch (op) {
        case kNoise: fg_random_normal(c, in.u, kCount, 7, 1, 2); break;
        case kLayerNorm: fg_layernorm_forward(c, kRows, kWidth, in.x, in.y, in.mean, in.rstd); break;
        case kReluJvp: fg_relu_jvp(c, kCount, 1, in.x, nullptr, in.zdot, in.u, nullptr, in.a, in.adot); break;
        case kReluBackward: fg_relu_backward(c, kCount, in.x, in.zdot, in.adot); break;
    }
}

void run_gemm(fg_context* c, Inputs& in) {
    fg_gemm(c, FG_NO_TRANS, FG_NO_TRANS, kGemm, kGemm, kGemm, 1.0f, in.ga, in.gb, 0.0f, in.gc);
}

double seconds(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

fg_context* loop_context(benchmark::State& state, int threads) {
    fg_context* c = fgbench::cpu_loop_context(threads);
    if (!c) state.SkipWithError(fg_last_error());
    return c;
}

void BM_LoopAfterGemm(benchmark::State& state) {
    const Op op = static_cast<Op>(state.range(0));
    fg_context* c = loop_context(state, static_cast<int>(state.range(1)));
    if (!c) return;
    Inputs in(c);
    for (auto _ : state) {
        run_gemm(c, in);
        const auto t0 = std::chrono::steady_clock::now();
        run_op(c, in, op);
        state.SetIterationTime(seconds(t0));
    }
    state.SetLabel(kOpNames[op]);
}

void BM_LoopIdle(benchmark::State& state) {
    const Op op = static_cast<Op>(state.range(0));
    fg_context* c = loop_context(state, static_cast<int>(state.range(1)));
    if (!c) return;
    Inputs in(c);
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        run_op(c, in, op);
        state.SetIterationTime(seconds(t0));
    }
    state.SetLabel(kOpNames[op]);
}

void BM_GemmAfterLoop(benchmark::State& state) {
    fg_context* c = loop_context(state, static_cast<int>(state.range(0)));
    if (!c) return;
    Inputs in(c);
    for (auto _ : state) {
        run_op(c, in, kNoise);
        const auto t0 = std::chrono::steady_clock::now();
        run_gemm(c, in);
        state.SetIterationTime(seconds(t0));
    }
    fgbench::set_flops(state, 2.0 * kGemm * kGemm * kGemm);
}

void op_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"op", "loops"});
    for (int op : {kNoise, kLayerNorm, kReluJvp, kReluBackward})
        for (int t : {1, 2}) b->Args({op, t});
}

}  // namespace

BENCHMARK(BM_LoopAfterGemm)->Apply(op_args)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LoopIdle)->Apply(op_args)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemmAfterLoop)->ArgName("loops")->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);
