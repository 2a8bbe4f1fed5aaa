// Shared pieces of the native benchmarks: a context per backend and owned buffers.
#pragma once
#include <benchmark/benchmark.h>

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
