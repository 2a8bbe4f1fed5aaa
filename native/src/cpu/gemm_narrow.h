// Narrow GEMMs on the loop threads: the group layers' blocks (C/G x C/G weights, e.g. 32 x 32) in their
// three forms, forward and dX (rows x k times a k x n block, k, n <= 64) and dW (the n x n block summed
// over all rows); and the token layer's per-sample GEMMs (a P x P weight, P <= 64, times a P x C sample, in
// 64-column panels). BLAS providers run these at a fraction of their rate: the blocks are too small to
// amortise their packing (docs/PERFORMANCE.md measures it). These kernels keep the block in registers and
// L1 and stream the rows once.
//
// Results do not depend on the thread count: every output element is one fixed-order sum, and dW's sum over
// rows runs in row chunks fixed by the shape whose partial sums are added in chunk order.
#pragma once
#include <cstdint>

#include "../core/backend.h"

namespace fg::cpu {

// Runs g when it is a narrow GEMM these kernels take (and the CPU has AVX-512); false leaves it to the
// caller. FG_NARROW_GEMM=0 turns them off (read once), for comparison with the provider.
bool gemm_narrow(const GemmArgs& g, int32_t loop_threads);

// Whether gemm_narrow runs on this CPU at all (AVX-512F, and not turned off).
bool gemm_narrow_enabled();

}  // namespace fg::cpu
