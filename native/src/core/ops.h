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

// ---- element-wise helpers named for what they do (one call of a broadcast primitive each)
// y[i] += x[i] for i < n.
inline void add(fg_context& c, int64_t n, const float* x, float* y) { c.be().add_bias(1, n, 1, y, x); }
// out[i] = alpha * x[i] for i < n; out may alias x.
inline void scale(fg_context& c, int64_t n, float alpha, const float* x, float* out) {
    c.be().broadcast_mid(1, 1, n, x, alpha, out);
}

// ---- forward-gradient estimators (ops_estimators.cpp), the one composition behind both the C exports
// and the model.
// Activity perturbation of one layer: G_Z = LN_vjp(fga_scale(p.mode, u, a, d)) into p.gz (the backend
// reduces d to one scalar per tangent and unit first), then dW, db of the layer from its input x.
// u is p.noise_in, or drawn again from (seed, step, noise_id) into noise_scratch when null.
void fga_weight_grad(fg_context& c, const Backend::FgaNormVjp& p, float* noise_scratch, int32_t kind, int64_t n_in,
                     int64_t layer_groups, const float* x, float* dw, float* db, bool accumulate);
// Weight perturbation: grad (+)= (1/K) sum_k D_k(slice) V_k, D_k the sums over rows of d (K, rows, G).
void fgw_grad(fg_context& c, int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
              int64_t tangents, const float* v, const float* d, float* grad, bool accumulate);

}  // namespace fg::ops
