// Linear layers (dense, block-diagonal group, token mixing): fused JVP over stacked tangents and
// backward, built from Backend::gemm and the reduce primitives so both backends share them.
#include <climits>
#include <string>

#include "ops.h"

namespace fg::ops {

namespace {

// BLAS and cuBLAS take int dimensions.
void check_fits_int(const char* name, int64_t value) {
    if (value > INT_MAX)
        invalid(std::string(name) + " (" + std::to_string(value) + ") exceeds the GEMM limit of " +
                std::to_string(INT_MAX));
}

// The GEMM of Y (rows, m) = X (rows, n) W + beta Y for each kind:
// DENSE:  one GEMM.
// GROUP:  X (rows, G, n/G), W (G, n/G, m/G): batch over G with lda = n, ldc = m.
// TOKEN:  X (S, P, C), W (P, P): Y[s] = W^T X[s], batch over S with W shared (stride 0).
GemmArgs forward_gemm(int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups, const float* x,
                      const float* w, float* y, float beta) {
    GemmArgs g;
    g.a = x;
    g.b = w;
    g.c = y;
    g.beta = beta;
    if (kind == FG_LAYER_DENSE) {
        g.m = rows, g.n = m, g.k = n;
        g.lda = n, g.ldb = m, g.ldc = m;
    } else if (kind == FG_LAYER_GROUP) {
        const int64_t gi = n / groups, go = m / groups;
        g.m = rows, g.n = go, g.k = gi;
        g.lda = n, g.ldb = go, g.ldc = m;
        g.stride_a = gi, g.stride_b = gi * go, g.stride_c = go;
        g.batch = groups;
    } else {
        // Y[s] (P, C) = W^T (P, P) X[s] (P, C)
        const int64_t P = groups, C = n, S = rows / P;
        g.trans_a = true;
        g.a = w, g.b = x;
        g.m = P, g.n = C, g.k = P;
        g.lda = P, g.ldb = C, g.ldc = C;
        g.stride_a = 0, g.stride_b = P * C, g.stride_c = P * C;
        g.batch = S;
    }
    return g;
}

}  // namespace

void check_linear_shape(int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups) {
    if (kind != FG_LAYER_DENSE && kind != FG_LAYER_GROUP && kind != FG_LAYER_TOKEN)
        invalid("kind must be FG_LAYER_DENSE (0), FG_LAYER_GROUP (1) or FG_LAYER_TOKEN (2) (got " +
                std::to_string(kind) + ")");
    check_positive("rows", rows);
    check_positive("n", n);
    check_positive("m", m);
    check_positive("groups", groups);
    check_fits_int("rows", rows);
    check_fits_int("n", n);
    check_fits_int("m", m);
    if (kind == FG_LAYER_DENSE && groups != 1)
        invalid("groups must be 1 for FG_LAYER_DENSE (got " + std::to_string(groups) + ")");
    if (kind == FG_LAYER_GROUP) {
        check_divides("groups", groups, "n", n);
        check_divides("groups", groups, "m", m);
    }
    if (kind == FG_LAYER_TOKEN) {
        if (n != m)
            invalid("n (" + std::to_string(n) + ") must equal m (" + std::to_string(m) +
                    ") for FG_LAYER_TOKEN (both are the channel count C)");
        check_divides("groups", groups, "rows", rows);
    }
}

uint64_t linear_weight_count(int32_t kind, int64_t n, int64_t m, int64_t groups) {
    if (kind == FG_LAYER_TOKEN) return elements({groups, groups});
    return elements({groups, n / groups, m / groups});
}

uint64_t linear_bias_count(int32_t kind, int64_t n, int64_t m, int64_t groups) {
    return kind == FG_LAYER_TOKEN ? static_cast<uint64_t>(groups) : static_cast<uint64_t>(m);
}

void linear_jvp(fg_context& c, int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups, int64_t tangents,
                const float* xx, const float* w, const float* b, const float* wdot, float* yy) {
    Backend& be = c.be();
    const int64_t stacks = tangents + 1;
    // YY ((K+1)*R, m) = XX ((K+1)*R, n) W: the stacked rows are just more rows (more samples for
    // TOKEN), so one GEMM reads W once for the primal and every tangent.
    be.gemm(forward_gemm(kind, stacks * rows, n, m, groups, xx, w, yy, 0.0f));
    if (b) {
        if (kind == FG_LAYER_TOKEN)
            be.add_bias(rows / groups, groups, n, yy, b);  // y (S, P, C) += b[q] over q
        else
            be.add_bias(rows, m, 1, yy, b);  // y (R, m) += b
    }
    if (!wdot || tangents == 0) return;
    linear_weight_jvp(c, kind, rows, n, m, groups, tangents, xx, wdot, yy + rows * m, true);
}

void linear_weight_jvp(fg_context& c, int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups,
                       int64_t tangents, const float* x, const float* wdot, float* yt, bool accumulate) {
    Backend& be = c.be();
    const float beta = accumulate ? 1.0f : 0.0f;
    const uint64_t wcount = linear_weight_count(kind, n, m, groups);
    if (kind == FG_LAYER_DENSE) {
        // YT[k] (R, m) (+)= X (R, n) Wdot_k (n, m): one batch over k, X shared (stride 0).
        GemmArgs g = forward_gemm(kind, rows, n, m, groups, x, wdot, yt, beta);
        g.stride_a = 0;
        g.stride_b = static_cast<int64_t>(wcount);
        g.stride_c = rows * m;
        g.batch = tangents;
        be.gemm(g);
        return;
    }
    // GROUP and TOKEN already batch over groups / samples: one batched GEMM per tangent.
    for (int64_t k = 0; k < tangents; ++k)
        be.gemm(forward_gemm(kind, rows, n, m, groups, x, wdot + k * wcount, yt + k * rows * m, beta));
}

void linear_backward(fg_context& c, int32_t kind, int64_t rows, int64_t n, int64_t m, int64_t groups,
                     const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     bool accumulate) {
    Backend& be = c.be();
    const float beta = accumulate ? 1.0f : 0.0f;
    if (kind == FG_LAYER_DENSE || kind == FG_LAYER_GROUP) {
        // G = 1 is the dense layer: dy (R, G, m/G), w (G, n/G, m/G), x (R, G, n/G).
        const int64_t G = kind == FG_LAYER_DENSE ? 1 : groups;
        const int64_t gi = n / G, go = m / G;
        if (dx) {
            // dX[:, g] (R, n/G) = dY[:, g] (R, m/G) W[g]^T
            GemmArgs g;
            g.trans_b = true;
            g.m = rows, g.n = gi, g.k = go;
            g.a = dy, g.lda = m, g.stride_a = go;
            g.b = w, g.ldb = go, g.stride_b = gi * go;
            g.c = dx, g.ldc = n, g.stride_c = gi;
            g.batch = G;
            be.gemm(g);
        }
        if (dw) {
            // dW[g] (n/G, m/G) (+)= X[:, g]^T dY[:, g]
            GemmArgs g;
            g.trans_a = true;
            g.m = gi, g.n = go, g.k = rows;
            g.a = x, g.lda = n, g.stride_a = gi;
            g.b = dy, g.ldb = m, g.stride_b = go;
            g.c = dw, g.ldc = go, g.stride_c = gi * go;
            g.beta = beta;
            g.batch = G;
            be.gemm(g);
        }
        if (db) be.sum_mid(rows, m, 1, dy, 1.0f, db, accumulate);
        return;
    }
    // TOKEN: x, dy, dx are (S, P, C), w is (P, P).
    const int64_t P = groups, C = n, S = rows / P;
    if (dx) {
        // dX[s] (P, C) = W (P, P) dY[s] (P, C)
        GemmArgs g;
        g.m = P, g.n = C, g.k = P;
        g.a = w, g.lda = P, g.stride_a = 0;
        g.b = dy, g.ldb = C, g.stride_b = P * C;
        g.c = dx, g.ldc = C, g.stride_c = P * C;
        g.batch = S;
        be.gemm(g);
    }
    if (dw) {
        // dW[p, q] = sum_s (X[s] dY[s]^T)[p, q]: per-sample products into scratch (S, P, P), then a sum over S.
        float* per_sample = c.scratch_floats(elements({S, P, P}));
        GemmArgs g;
        g.trans_b = true;
        g.m = P, g.n = P, g.k = C;
        g.a = x, g.lda = C, g.stride_a = P * C;
        g.b = dy, g.ldb = C, g.stride_b = P * C;
        g.c = per_sample, g.ldc = P, g.stride_c = P * P;
        g.batch = S;
        be.gemm(g);
        be.sum_mid(S, P * P, 1, per_sample, 1.0f, dw, accumulate);
    }
    if (db) be.sum_mid(S, P, C, dy, 1.0f, db, accumulate);  // db[q] = sum_{s, c} dY[s, q, c]
}

}  // namespace fg::ops

// ---------------------------------------------------------------- C exports

namespace {

// An output may not share a buffer with any input or other output (the GEMMs would read what they write).
void check_distinct(const fg_buffer* out, const char* out_name, std::initializer_list<const fg_buffer*> others,
                    std::initializer_list<const char*> names) {
    if (!out) return;
    auto name = names.begin();
    for (const fg_buffer* b : others) {
        if (b == out) fg::invalid(std::string(out_name) + " must not be the same buffer as " + *name);
        ++name;
    }
}

}  // namespace

extern "C" {

FG_API fg_status fg_linear_jvp(fg_context* context, int32_t kind, int64_t rows, int64_t n, int64_t m,
                               int64_t groups, int64_t tangents, const fg_buffer* xx, const fg_buffer* w,
                               const fg_buffer* b, const fg_buffer* wdot, fg_buffer* yy) {
    return fg::guard("fg_linear_jvp", [&] {
        fg_context& c = fg::check_context(context);
        fg::ops::check_linear_shape(kind, rows, n, m, groups);
        fg::check_nonnegative("tangents", tangents);
        const uint64_t stacked = fg::elements({tangents + 1, rows});
        if (stacked > INT_MAX)
            fg::invalid("(tangents + 1) * rows (" + std::to_string(stacked) + ") exceeds the GEMM limit of " +
                        std::to_string(INT_MAX));
        const uint64_t wcount = fg::ops::linear_weight_count(kind, n, m, groups);
        const float* xx_p = fg::in_f32(c, xx, fg::elements({tangents + 1, rows, n}), "xx");
        const float* w_p = fg::in_f32(c, w, wcount, "w");
        const float* b_p = fg::opt_in_f32(c, b, fg::ops::linear_bias_count(kind, n, m, groups), "b");
        const float* wdot_p = fg::opt_in_f32(c, wdot, fg::elements({tangents, static_cast<int64_t>(wcount)}), "wdot");
        float* yy_p = fg::out_f32(c, yy, fg::elements({tangents + 1, rows, m}), "yy");
        check_distinct(yy, "yy", {xx, w, b, wdot}, {"xx", "w", "b", "wdot"});
        fg::ops::linear_jvp(c, kind, rows, n, m, groups, tangents, xx_p, w_p, b_p, wdot_p, yy_p);
    });
}

FG_API fg_status fg_linear_backward(fg_context* context, int32_t kind, int64_t rows, int64_t n, int64_t m,
                                    int64_t groups, const fg_buffer* x, const fg_buffer* w, const fg_buffer* dy,
                                    fg_buffer* dx, fg_buffer* dw, fg_buffer* db, int32_t accumulate) {
    return fg::guard("fg_linear_backward", [&] {
        fg_context& c = fg::check_context(context);
        fg::ops::check_linear_shape(kind, rows, n, m, groups);
        if (accumulate != 0 && accumulate != 1)
            fg::invalid("accumulate must be 0 or 1 (got " + std::to_string(accumulate) + ")");
        const uint64_t wcount = fg::ops::linear_weight_count(kind, n, m, groups);
        const uint64_t xcount = fg::elements({rows, n});
        // x is needed only for dW, w only for dX.
        const float* x_p = dw ? fg::in_f32(c, x, xcount, "x") : fg::opt_in_f32(c, x, xcount, "x");
        const float* w_p = dx ? fg::in_f32(c, w, wcount, "w") : fg::opt_in_f32(c, w, wcount, "w");
        const float* dy_p = fg::in_f32(c, dy, fg::elements({rows, m}), "dy");
        float* dx_p = fg::opt_out_f32(c, dx, xcount, "dx");
        float* dw_p = fg::opt_out_f32(c, dw, wcount, "dw");
        float* db_p = fg::opt_out_f32(c, db, fg::ops::linear_bias_count(kind, n, m, groups), "db");
        check_distinct(dx, "dx", {x, w, dy, dw, db}, {"x", "w", "dy", "dw", "db"});
        check_distinct(dw, "dw", {x, w, dy, db}, {"x", "w", "dy", "db"});
        check_distinct(db, "db", {x, w, dy}, {"x", "w", "dy"});
        fg::ops::linear_backward(c, kind, rows, n, m, groups, x_p, w_p, dy_p, dx_p, dw_p, db_p, accumulate == 1);
    });
}

}  // extern "C"
