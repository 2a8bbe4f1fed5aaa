// Fork-join loops for the CPU backend's element-wise kernels.
//
// The GEMMs run on BLAS's own threads; everything between them (noise, LayerNorm, ReLU, the
// estimators' scaling, bias sums) would otherwise run on the calling thread alone while BLAS's
// threads wait. parallel_for splits such a loop over `threads` threads: the caller and workers of
// one process-wide pool. The workers block (no spinning) between loops, so they take no CPU from
// BLAS's threads during a GEMM; bench/native/bench_parallel.cpp measures both directions.
//
// Results never depend on the thread count: a body must write disjoint outputs per index and keep
// any reduction inside one index (every kernel here splits over rows, columns or elements).
#pragma once
#include <cstdint>
#include <type_traits>

namespace fg::cpu {

// Threads a loop uses when the context asks for the default (cpu_threads = 0): FG_CPU_LOOP_THREADS when
// set (read at context creation; 1 turns the loops serial), else BLAS's thread count when BLAS reports
// one (so OPENBLAS_NUM_THREADS governs both), else the CPUs this process may run on.
int32_t default_loop_threads();

// Runs body(ctx, begin, end) over [0, n) in chunks of at least `grain` indices on up to `threads`
// threads, the caller included; returns when every chunk is done. Runs on the caller alone when
// threads <= 1, n < 2 * grain, or another thread's loop holds the pool.
void parallel_for_raw(int32_t threads, int64_t n, int64_t grain, void (*body)(void*, int64_t, int64_t), void* ctx);

// body(begin, end) over [0, n).
template <class F>
void parallel_for(int32_t threads, int64_t n, int64_t grain, F&& body) {
    if (n <= 0) return;
    if (threads <= 1 || n < 2 * grain) {
        body(int64_t(0), n);
        return;
    }
    using Body = std::remove_reference_t<F>;
    // Each chunk runs a local copy of the body: its captures then live in registers. Called through the
    // shared object, the compiler must assume the body's stores may change its captured pointers, reloads
    // them at every element and does not vectorise (a 5-10x slower ReLU).
    parallel_for_raw(
        threads, n, grain,
        [](void* c, int64_t b, int64_t e) {
            Body local = *static_cast<const Body*>(c);
            local(b, e);
        },
        const_cast<void*>(static_cast<const void*>(&body)));
}

// Grain sizes: enough work per chunk (tens of microseconds) that waking a worker pays.
constexpr int64_t kElementGrain = 1 << 14;  // floats of a streaming loop
// Rows of width `width` per chunk, for row-wise kernels.
inline int64_t row_grain(int64_t width) { return width >= kElementGrain ? 1 : kElementGrain / (width > 0 ? width : 1); }

}  // namespace fg::cpu
