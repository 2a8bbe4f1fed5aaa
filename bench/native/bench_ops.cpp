// Every benchmark entry of the op table (tests/native/ops_table), named
// <family>/<backend>/<rest>, e.g. BM_LinearJvp/cpu/M8_16/dense_512x512/B100/K4:
//   BM_LinearJvp       the fused JVP: one GEMM over the (K+1)*R stacked rows (wdot = NULL, as in FG-A)
//   BM_LinearJvpWdot   the fused JVP with weight tangents (FG-W): also X Wdot_k per tangent, (2K+1) passes of flops
//   BM_LinearSeparate  the same work as K+1 separate K = 0 calls (one pass per tangent)
//   BM_LinearBlas      one plain fg_gemm of the same stacked shape (the BLAS / cuBLAS rate to compare to):
//                      dense ((K+1)R x n x m); group one block ((K+1)R x n/G x m/G); token W^T (P x (K+1)S*C x P)
//   BM_LinearBackprop  a backprop layer step: forward (K = 0) + dX, dW, db
//   BM_GemmSquare      one square fg_gemm
//   BM_Op              LayerNorm, ReLU, local loss, estimators, optimizer and noise at M/8/16 sizes
// Each entry is checked once against its float64 oracle before it is timed (a mismatch skips it with the
// reason); GFLOP/s and GB/s come from the table's counts.
// BM_LinearJvp/cpu_loops1/... (group layers): the fused JVP with the CPU loop threads at 1, i.e. the G
// blocks as G BLAS calls instead of row chunks over the loop threads (native/src/cpu/gemm.cpp).
// On CPU, entries above kCpuDefaultFlops per iteration are registered only with FG_BENCH_FULL=1; CUDA
// entries are registered when the CUDA backend is available.
#include <cstdlib>
#include <memory>
#include <string>

#include "bench_util.h"
#include "op_run.h"

namespace {

constexpr double kCpuDefaultFlops = 10e9;

// Google Benchmark calls a benchmark's function once per trial iteration count: the entry built (and
// validated) for the last call stays until another entry or context asks.
struct Slot {
    size_t index = SIZE_MAX;
    fg_context* ctx = nullptr;
    std::unique_ptr<optable::Prepared> prepared;
};

void run_entry(benchmark::State& state, size_t index, int32_t backend, int loop_threads) {
    fg_context* c = loop_threads > 0 ? fgbench::cpu_loop_context(loop_threads) : fgbench::require(state, backend);
    if (!c) {
        if (loop_threads > 0) state.SkipWithError(fg_last_error());
        return;
    }
    static Slot slot;
    const optable::Case& entry = optable::cases()[index];
    if (slot.index != index || slot.ctx != c) {
        slot.prepared.reset();  // frees the previous entry's buffers first
        slot.prepared = optable::prepare(c, entry, true);
        slot.index = index, slot.ctx = c;
    }
    if (!slot.prepared->verdict.pass) {
        state.SkipWithError(("does not match its oracle: " + slot.prepared->verdict.summary()).c_str());
        return;
    }
    optable::Bound& bound = *slot.prepared->bound;
    for (auto _ : state) {
        bound.call();
        fg_context_synchronize(c);
    }
    if (entry.cost.flops > 0) fgbench::set_flops(state, entry.cost.flops);
    if (entry.cost.bytes > 0)
        state.counters["GB/s"] = benchmark::Counter(entry.cost.bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

bool register_all() {
    const bool full = std::getenv("FG_BENCH_FULL") != nullptr;
    std::vector<int32_t> backends = {FG_BACKEND_CPU};
    if (optable::backend_available(FG_BACKEND_CUDA)) backends.push_back(FG_BACKEND_CUDA);
    const std::vector<optable::Case>& table = optable::cases();
    for (int32_t backend : backends) {
        const std::string be = backend == FG_BACKEND_CUDA ? "cuda" : "cpu";
        for (size_t i = 0; i < table.size(); ++i) {
            const optable::Case& e = table[i];
            if (e.bench_family.empty()) continue;
            // Long CPU entries (seconds per iteration) only on request.
            if (backend == FG_BACKEND_CPU && !full && e.cost.flops > kCpuDefaultFlops) continue;
            auto add = [&](const std::string& where, int loop_threads) {
                benchmark::RegisterBenchmark((e.bench_family + "/" + where + "/" + e.bench_rest).c_str(),
                                             [=](benchmark::State& s) { run_entry(s, i, backend, loop_threads); })
                    ->Unit(benchmark::kMillisecond)
                    ->UseRealTime();
            };
            add(be, 0);
            if (backend == FG_BACKEND_CPU && e.bench_loop_threads) add("cpu_loops1", 1);
        }
    }
    return true;
}

const bool registered = register_all();

}  // namespace
