// The machine's GEMM rate: one large square GEMM through fg_gemm (BLAS on CPU, cuBLAS on CUDA).
// Other benchmarks report their GFLOP/s as a fraction of this.
#include "bench_util.h"

namespace {
void BM_GemmPeak(benchmark::State& state) {
    const int32_t backend = static_cast<int32_t>(state.range(0));
    const int64_t n = state.range(1);
    fg_context* c = fgbench::require(state, backend);
    if (!c) return;
    fgbench::Buffer a(c, n * n), b(c, n * n), out(c, n * n);
    for (auto _ : state) {
        fg_gemm(c, FG_NO_TRANS, FG_NO_TRANS, n, n, n, 1.0f, a, b, 0.0f, out);
        fg_context_synchronize(c);
    }
    fgbench::set_flops(state, 2.0 * n * n * n);
}
}  // namespace

BENCHMARK(BM_GemmPeak)->ArgNames({"backend", "n"})->Args({FG_BACKEND_CPU, 1024})->Args({FG_BACKEND_CUDA, 4096})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
