// The CPU GEMM providers side by side on the shapes the methods issue (M/8/16 at batch 100 and K = 1:
// R = 6400 rows, S = 12800 stacked rows; the S/1/1 layer), to choose the default provider on evidence.
// Each iteration runs every loadable provider once on the shape, in turn, so machine drift hits all of
// them alike. Counters: <provider>_GFLOPs (mean wall rate), <provider>_x_openblas (rate over OpenBLAS's).
//   BM_GemmProviders/<shape>
// The providers are loaded here directly (gemm_provider.h), beside the one the library chose.
#include <chrono>
#include <memory>
#include <vector>

#include "bench_util.h"
#include "cpu/gemm_provider.h"

namespace {

using fg::cpu::GemmProvider;

struct Shape {
    const char* name;
    bool ta, tb;
    int64_t m, n, k;
    int64_t batch;               // entries, each its own provider call
    int64_t lda, ldb, ldc;       // leading dimensions (0: contiguous)
    int64_t step_a, step_b, step_c;  // floats between entries
};

// Shapes in the layer's own layout; the comment names where the method issues it.
const Shape kShapes[] = {
    {"square_1024", false, false, 1024, 1024, 1024, 1, 0, 0, 0, 0, 0, 0},
    {"S1_1_dense_200x256x784", false, false, 200, 256, 784, 1, 0, 0, 0, 0, 0, 0},   // S/1/1 layer, K=1 stack
    {"M8_16_dense_12800x512x512", false, false, 12800, 512, 512, 1, 0, 0, 0, 0, 0, 0},  // channel layer stack
    {"M8_16_patch_12800x512x48", false, false, 12800, 512, 48, 1, 0, 0, 0, 0, 0, 0},   // patch embedding
    {"M8_16_group_16x12800x32x32", false, false, 12800, 32, 32, 16, 512, 32, 512, 32, 1024, 32},  // group blocks
    {"M8_16_token_200x64x512x64", true, false, 64, 512, 64, 200, 64, 512, 512, 0, 64 * 512, 64 * 512},  // per sample
    {"M8_16_dW_512x512x6400", true, false, 512, 512, 6400, 1, 0, 0, 0, 0, 0, 0},  // X^T G
    {"M8_16_dX_6400x512x512", false, true, 6400, 512, 512, 1, 0, 0, 0, 0, 0, 0},  // G W^T
};

std::vector<GemmProvider>& providers() {
    static std::vector<GemmProvider> loaded = [] {
        std::vector<GemmProvider> v;
        for (const char* id : {"openblas", "onednn", "internal"}) {
            GemmProvider p = fg::cpu::load_gemm_provider(id);
            if (p.sgemm) v.push_back(std::move(p));
        }
        return v;
    }();
    return loaded;
}

void run(const GemmProvider& p, const Shape& s, const float* a, const float* b, float* c) {
    const int64_t lda = s.lda ? s.lda : (s.ta ? s.m : s.k), ldb = s.ldb ? s.ldb : (s.tb ? s.k : s.n);
    const int64_t ldc = s.ldc ? s.ldc : s.n;
    for (int64_t e = 0; e < s.batch; ++e)
        p.sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a + e * s.step_a, lda, b + e * s.step_b, ldb, 0.0f, c + e * s.step_c,
                ldc);
}

void BM_GemmProviders(benchmark::State& state, Shape s) {
    auto& ps = providers();
    const int64_t lda = s.lda ? s.lda : (s.ta ? s.m : s.k), ldb = s.ldb ? s.ldb : (s.tb ? s.k : s.n);
    const int64_t ldc = s.ldc ? s.ldc : s.n;
    const size_t a_floats = static_cast<size_t>((s.batch - 1) * s.step_a + (s.ta ? s.k : s.m) * lda);
    const size_t b_floats = static_cast<size_t>((s.batch - 1) * s.step_b + (s.tb ? s.n : s.k) * ldb);
    const size_t c_floats = static_cast<size_t>((s.batch - 1) * s.step_c + s.m * ldc);
    std::vector<float> a(a_floats), b(b_floats), c(c_floats);
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 13) * 0.01f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 7) * 0.02f;
    for (const auto& p : ps) run(p, s, a.data(), b.data(), c.data());  // warm-up: threads, first touch
    std::vector<double> seconds(ps.size(), 0.0);
    for (auto _ : state)
        for (size_t i = 0; i < ps.size(); ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            run(ps[i], s, a.data(), b.data(), c.data());
            seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
    const double flops = 2.0 * s.m * s.n * s.k * s.batch * static_cast<double>(state.iterations());
    for (size_t i = 0; i < ps.size(); ++i) {
        state.counters[ps[i].id + "_GFLOPs"] = flops / seconds[i] * 1e-9;
        if (i > 0 && ps[0].id == "openblas") state.counters[ps[i].id + "_x_openblas"] = seconds[0] / seconds[i];
    }
    std::string label;
    for (const auto& p : ps) label += (label.empty() ? "" : " | ") + p.description;
    state.SetLabel(label);
}

const bool kRegistered = [] {
    for (const Shape& s : kShapes)
        benchmark::RegisterBenchmark((std::string("BM_GemmProviders/") + s.name).c_str(), BM_GemmProviders, s)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    return true;
}();

}  // namespace
