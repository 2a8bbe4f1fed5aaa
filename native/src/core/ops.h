// Composite ops at the pointer level, shared by the C exports (api_*.cpp / ops_*.cpp) and by the
// model code. Arguments are already validated; pointers are backend memory of context `c`.
// Each is built only from fg::Backend primitives, so it runs unchanged on every backend.
#pragma once
#include <cstdint>

#include "context.h"

namespace fg::ops {

// ---- linear layers (ops_linear.cpp); kinds and shapes as in forwardgrad.h (FG_LAYER_*).
// Throws invalid() naming the argument when (kind, rows, n, m, groups) do not fit together.
void check_linear_shape(int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups);
uint64_t linear_weight_count(int32_t kind, int64_t n, int64_t m, int64_t groups);
uint64_t linear_bias_count(int32_t kind, int64_t n, int64_t m, int64_t groups);

// xx ((K+1)*rows, n) -> yy ((K+1)*rows, m); b and wdot may be null.
void linear_jvp(fg_context& c, int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups, int64_t tangents,
                const float* xx, const float* w, const float* b, const float* wdot, float* yy);
// Weight tangents of a layer with a primal input: yt[k] (rows, m) (+)= x (rows, n) wdot[k] for k < tangents
// (yt (K, rows, m), wdot (K, weight count)); no bias.
void linear_weight_jvp(fg_context& c, int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups,
                       int64_t tangents, const float* x, const float* wdot, float* yt, bool accumulate);
// dx, dw, db may be null. May use c.scratch_floats().
void linear_backward(fg_context& c, int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups,
                     const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     bool accumulate);

}  // namespace fg::ops
