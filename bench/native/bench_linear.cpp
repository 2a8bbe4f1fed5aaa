// Linear layers at the paper's shapes (METHOD.md sections 3 and 6), batch 100 and 256, K = 1, 2, 4, 8:
//   BM_LinearJvp       the fused JVP: one GEMM over the (K+1)*R stacked rows (wdot = NULL, as in FG-A)
//   BM_LinearJvpWdot   the fused JVP with weight tangents (FG-W): also X Wdot_k per tangent, (2K+1) passes of flops
//                      (dense: one batched GEMM with X shared; token: one batched GEMM per tangent, Wdot_k shared)
//   BM_LinearSeparate  the same work as K+1 separate K = 0 calls (one pass per tangent)
//   BM_LinearBlas      one plain fg_gemm of the same stacked shape (the BLAS / cuBLAS rate to compare to):
//                      dense ((K+1)R x n x m); group one block ((K+1)R x n/G x m/G); token W^T (P x (K+1)S*C x P)
//   BM_LinearBackprop  a backprop layer step: forward (K = 0) + dX, dW, db
// Names are BM_<variant>/<backend>/<config>/<layer>/B<batch>[/K<k>], e.g. --benchmark_filter='BM_LinearJvp/cpu/M8'.
// BM_LinearJvp/cpu_loops1/... (group layers): the fused JVP with the CPU loop threads at 1, i.e. the G
// blocks as G BLAS calls instead of row chunks over the loop threads (native/src/cpu/gemm.cpp).
// On CPU, cases above kCpuDefaultFlops per iteration are registered only with FG_BENCH_FULL=1; CUDA
// cases are registered when the CUDA backend is available.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"

namespace {

struct Layer {
    const char* config;
    const char* name;
    int32_t kind;
    int64_t patches, n, m, groups;
};

const Layer kLayers[] = {
    {"S1_1", "dense_784x256", FG_LAYER_DENSE, 1, 784, 256, 1},
    {"M1_16", "dense_784x512", FG_LAYER_DENSE, 1, 784, 512, 1},
    {"M1_16", "group_512_G16", FG_LAYER_GROUP, 1, 512, 512, 16},
    {"M8_16", "dense_48x512", FG_LAYER_DENSE, 64, 48, 512, 1},
    {"M8_16", "dense_512x512", FG_LAYER_DENSE, 64, 512, 512, 1},
    {"M8_16", "group_512_G16", FG_LAYER_GROUP, 64, 512, 512, 16},
    {"M8_16", "token_P64_C512", FG_LAYER_TOKEN, 64, 512, 512, 64},
    {"L8_64", "dense_2048x2048", FG_LAYER_DENSE, 64, 2048, 2048, 1},
    {"L8_64", "group_2048_G64", FG_LAYER_GROUP, 64, 2048, 2048, 64},
    {"L8_64", "token_P64_C2048", FG_LAYER_TOKEN, 64, 2048, 2048, 64},
};

constexpr double kCpuDefaultFlops = 10e9;

int64_t weight_count(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.groups * l.groups : l.n * l.m / l.groups; }
int64_t bias_count(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.groups : l.m; }

// Flops of one forward pass over `rows` rows.
double layer_flops(const Layer& l, int64_t rows) {
    return l.kind == FG_LAYER_TOKEN ? 2.0 * rows * l.groups * l.n : 2.0 * rows * l.n * l.m / l.groups;
}

// loop_threads > 0: on a CPU context with that many loop threads (the cpu_loops1 group cases).
void jvp(benchmark::State& state, int32_t backend, const Layer& l, int64_t rows, int64_t K, int loop_threads = 0) {
    fg_context* c = loop_threads > 0 ? fgbench::cpu_loop_context(loop_threads) : fgbench::require(state, backend);
    if (!c) {
        if (loop_threads > 0) state.SkipWithError(fg_last_error());
        return;
    }
    fgbench::Buffer xx(c, (K + 1) * rows * l.n), w(c, weight_count(l)), b(c, bias_count(l)), yy(c, (K + 1) * rows * l.m);
    for (auto _ : state) {
        fg_linear_jvp(c, l.kind, rows, l.n, l.m, l.groups, K, xx, w, b, nullptr, yy);
        fg_context_synchronize(c);
    }
    fgbench::set_flops(state, (K + 1) * layer_flops(l, rows));
}

// The fused JVP with weight tangents (FG-W): XX W plus X Wdot_k for every tangent.
void jvp_wdot(benchmark::State& state, int32_t backend, const Layer& l, int64_t rows, int64_t K) {
    fg_context* c = fgbench::require(state, backend);
    if (!c) return;
    fgbench::Buffer xx(c, (K + 1) * rows * l.n), w(c, weight_count(l)), b(c, bias_count(l)),
        wdot(c, K * weight_count(l)), yy(c, (K + 1) * rows * l.m);
    for (auto _ : state) {
        fg_linear_jvp(c, l.kind, rows, l.n, l.m, l.groups, K, xx, w, b, wdot, yy);
        fg_context_synchronize(c);
    }
    fgbench::set_flops(state, (2 * K + 1) * layer_flops(l, rows));
}

void separate(benchmark::State& state, int32_t backend, const Layer& l, int64_t rows, int64_t K) {
    fg_context* c = fgbench::require(state, backend);
    if (!c) return;
    std::vector<std::unique_ptr<fgbench::Buffer>> xs, ys;
    for (int64_t k = 0; k <= K; ++k) {
        xs.push_back(std::make_unique<fgbench::Buffer>(c, rows * l.n));
        ys.push_back(std::make_unique<fgbench::Buffer>(c, rows * l.m));
    }
    fgbench::Buffer w(c, weight_count(l)), b(c, bias_count(l));
    for (auto _ : state) {
        for (int64_t k = 0; k <= K; ++k)  // the bias goes to the primal pass only
            fg_linear_jvp(c, l.kind, rows, l.n, l.m, l.groups, 0, *xs[k], w, k == 0 ? b.buf : nullptr, nullptr, *ys[k]);
        fg_context_synchronize(c);
    }
    fgbench::set_flops(state, (K + 1) * layer_flops(l, rows));
}

void blas(benchmark::State& state, int32_t backend, const Layer& l, int64_t rows, int64_t K) {
    fg_context* c = fgbench::require(state, backend);
    if (!c) return;
    const int64_t stacked = (K + 1) * rows;
    fgbench::Buffer x(c, stacked * l.n), w(c, weight_count(l)), y(c, stacked * l.m);
    const int64_t gi = l.n / l.groups, go = l.m / l.groups;
    const double flops = l.kind == FG_LAYER_TOKEN ? layer_flops(l, stacked) : 2.0 * stacked * gi * go;
    for (auto _ : state) {
        if (l.kind == FG_LAYER_TOKEN)  // (P, P)^T x (P, (K+1)*S*C)
            fg_gemm(c, FG_TRANS, FG_NO_TRANS, l.groups, stacked / l.groups * l.n, l.groups, 1.0f, w, x, 0.0f, y);
        else
            fg_gemm(c, FG_NO_TRANS, FG_NO_TRANS, stacked, go, gi, 1.0f, x, w, 0.0f, y);
        fg_context_synchronize(c);
    }
    fgbench::set_flops(state, flops);
}

void backprop(benchmark::State& state, int32_t backend, const Layer& l, int64_t rows) {
    fg_context* c = fgbench::require(state, backend);
    if (!c) return;
    fgbench::Buffer x(c, rows * l.n), w(c, weight_count(l)), b(c, bias_count(l)), y(c, rows * l.m),
        dy(c, rows * l.m), dx(c, rows * l.n), dw(c, weight_count(l)), db(c, bias_count(l));
    for (auto _ : state) {
        fg_linear_jvp(c, l.kind, rows, l.n, l.m, l.groups, 0, x, w, b, nullptr, y);
        fg_linear_backward(c, l.kind, rows, l.n, l.m, l.groups, x, w, dy, dx, dw, db, 0);
        fg_context_synchronize(c);
    }
    fgbench::set_flops(state, 3.0 * layer_flops(l, rows));
}

benchmark::internal::Benchmark* configure(benchmark::internal::Benchmark* b) {
    return b->Unit(benchmark::kMillisecond)->UseRealTime();
}

bool register_all() {
    const bool full = std::getenv("FG_BENCH_FULL") != nullptr;
    std::vector<int32_t> backends = {FG_BACKEND_CPU};
    int32_t cuda = 0;
    if (fg_backend_probe(FG_BACKEND_CUDA, &cuda, nullptr, 0) == FG_OK && cuda) backends.push_back(FG_BACKEND_CUDA);
    for (int32_t backend : backends) {
        const std::string be = backend == FG_BACKEND_CUDA ? "cuda" : "cpu";
        for (const Layer& l : kLayers)
            for (int64_t batch : {100, 256}) {
                const int64_t rows = batch * l.patches;
                const std::string shape = be + "/" + l.config + "/" + l.name + "/B" + std::to_string(batch);
                // Long CPU cases (seconds per iteration) only on request.
                auto wanted = [&](double flops) { return full || backend != FG_BACKEND_CPU || flops <= kCpuDefaultFlops; };
                if (wanted(3.0 * layer_flops(l, rows)))
                    configure(benchmark::RegisterBenchmark(("BM_LinearBackprop/" + shape).c_str(),
                                                           [=](benchmark::State& s) { backprop(s, backend, l, rows); }));
                for (int64_t K : {1, 2, 4, 8}) {
                    if (!wanted((K + 1) * layer_flops(l, rows))) continue;
                    const std::string name = shape + "/K" + std::to_string(K);
                    configure(benchmark::RegisterBenchmark(("BM_LinearJvp/" + name).c_str(),
                                                           [=](benchmark::State& s) { jvp(s, backend, l, rows, K); }));
                    if (backend == FG_BACKEND_CPU && l.kind == FG_LAYER_GROUP) {
                        const std::string serial = "cpu_loops1/" + std::string(l.config) + "/" + l.name + "/B" +
                                                   std::to_string(batch) + "/K" + std::to_string(K);
                        configure(benchmark::RegisterBenchmark(("BM_LinearJvp/" + serial).c_str(),
                                                               [=](benchmark::State& s) { jvp(s, backend, l, rows, K, 1); }));
                    }
                    if (wanted((2 * K + 1) * layer_flops(l, rows)))
                        configure(benchmark::RegisterBenchmark(("BM_LinearJvpWdot/" + name).c_str(),
                                                               [=](benchmark::State& s) { jvp_wdot(s, backend, l, rows, K); }));
                    configure(benchmark::RegisterBenchmark(("BM_LinearSeparate/" + name).c_str(),
                                                           [=](benchmark::State& s) { separate(s, backend, l, rows, K); }));
                    configure(benchmark::RegisterBenchmark(("BM_LinearBlas/" + name).c_str(),
                                                           [=](benchmark::State& s) { blas(s, backend, l, rows, K); }));
                }
            }
    }
    return true;
}

const bool registered = register_all();

}  // namespace
