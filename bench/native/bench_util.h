// Shared pieces of the native benchmarks: a context per backend and owned buffers.
#pragma once
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "forwardgrad.h"

namespace fgbench {

// One context per backend for the whole run (nullptr when the backend is unavailable).
inline fg_context* context(int32_t backend) {
    static fg_context* contexts[2] = {nullptr, nullptr};
    static bool tried[2] = {false, false};
    if (!tried[backend]) {
        tried[backend] = true;
        fg_context_options o{sizeof(fg_context_options), backend, 0, 0, 1};
        if (fg_context_create(&o, &contexts[backend]) != FG_OK) contexts[backend] = nullptr;
    }
    return contexts[backend];
}

// A CPU context whose element-wise loops use `threads` threads (FG_CPU_LOOP_THREADS is read when a
// context is created; BLAS keeps its own thread count). One per thread count for the whole run.
inline fg_context* cpu_loop_context(int threads) {
    static std::map<int, fg_context*> contexts;
    auto it = contexts.find(threads);
    if (it != contexts.end()) return it->second;
    const std::string value = std::to_string(threads);
#if defined(_WIN32)
    _putenv_s("FG_CPU_LOOP_THREADS", value.c_str());
#else
    setenv("FG_CPU_LOOP_THREADS", value.c_str(), 1);
#endif
    fg_context_options o{sizeof(fg_context_options), FG_BACKEND_CPU, 0, 0, 1};
    fg_context* c = nullptr;
    if (fg_context_create(&o, &c) != FG_OK) c = nullptr;
#if defined(_WIN32)
    _putenv_s("FG_CPU_LOOP_THREADS", "");
#else
    unsetenv("FG_CPU_LOOP_THREADS");
#endif
    return contexts[threads] = c;
}

struct Buffer {
    fg_buffer* buf = nullptr;
    Buffer(fg_context* ctx, uint64_t floats, float value = 0.01f) {
        fg_buffer_alloc(ctx, floats * 4, &buf);
        fg_buffer_fill_f32(buf, 0, floats, value);
    }
    ~Buffer() { fg_buffer_free(buf); }
    operator fg_buffer*() const { return buf; }
};

// Skips the benchmark with the reason when the backend cannot run here.
inline fg_context* require(benchmark::State& state, int32_t backend) {
    fg_context* c = context(backend);
    if (!c) state.SkipWithError((std::string(backend == FG_BACKEND_CUDA ? "cuda" : "cpu") + " backend unavailable").c_str());
    return c;
}

inline void set_flops(benchmark::State& state, double flops_per_iteration) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace fgbench
