// The C argument structs of the plug-in boundary (backend_plugin.h) to and from fg::Backend's C++
// ones, field by field: one definition for both sides of the boundary.
#pragma once
#include "backend.h"
#include "backend_plugin.h"

namespace fg::plugin_args {

inline fg_plugin_gemm_args to_c(const GemmArgs& g) {
    return fg_plugin_gemm_args{g.trans_a ? 1 : 0, g.trans_b ? 1 : 0, g.m, g.n, g.k, g.alpha, g.beta, g.a, g.lda,
                               g.stride_a, g.b, g.ldb, g.stride_b, g.c, g.ldc, g.stride_c, g.batch};
}

inline GemmArgs from_c(const fg_plugin_gemm_args& c) {
    GemmArgs g;
    g.trans_a = c.trans_a != 0, g.trans_b = c.trans_b != 0;
    g.m = c.m, g.n = c.n, g.k = c.k;
    g.alpha = c.alpha, g.beta = c.beta;
    g.a = c.a, g.lda = c.lda, g.stride_a = c.stride_a;
    g.b = c.b, g.ldb = c.ldb, g.stride_b = c.stride_b;
    g.c = c.c, g.ldc = c.ldc, g.stride_c = c.stride_c;
    g.batch = c.batch;
    return g;
}

inline fg_plugin_norm_relu_jvp_args to_c(const Backend::NormReluJvp& p) {
    return fg_plugin_norm_relu_jvp_args{p.rows, p.width, p.ln_rows, p.ln_dim, p.tangents, p.h, p.t,
                                        p.h_tangents ? 1 : 0, p.noise ? 1 : 0, p.residual, p.residual_dot, p.seed,
                                        p.step, p.noise_id, p.noise_rows.total, p.noise_rows.first, p.noise_out,
                                        p.z, p.mean, p.rstd, p.a};
}

inline Backend::NormReluJvp from_c(const fg_plugin_norm_relu_jvp_args& c) {
    Backend::NormReluJvp p;
    p.rows = c.rows, p.width = c.width, p.ln_rows = c.ln_rows, p.ln_dim = c.ln_dim, p.tangents = c.tangents;
    p.h = c.h, p.t = c.t, p.h_tangents = c.h_tangents != 0;
    p.residual = c.residual, p.residual_dot = c.residual_dot;
    p.noise = c.noise != 0, p.seed = c.seed, p.step = c.step, p.noise_id = c.noise_id, p.noise_out = c.noise_out;
    p.noise_rows = NoiseRows{c.noise_rows_total, c.noise_rows_first};
    p.z = c.z, p.mean = c.mean, p.rstd = c.rstd, p.a = c.a;
    return p;
}

inline fg_plugin_fga_norm_vjp_args to_c(const Backend::FgaNormVjp& p) {
    return fg_plugin_fga_norm_vjp_args{p.mode, p.tangents, p.batch, p.patches, p.width, p.groups, p.ln_rows,
                                       p.ln_dim, p.seed, p.step, p.noise_id, p.noise_rows.total, p.noise_rows.first,
                                       p.noise_in, p.a, p.d, p.z, p.rstd, p.gz};
}

inline Backend::FgaNormVjp from_c(const fg_plugin_fga_norm_vjp_args& c) {
    Backend::FgaNormVjp p;
    p.mode = c.mode, p.tangents = c.tangents, p.batch = c.batch, p.patches = c.patches, p.width = c.width;
    p.groups = c.groups, p.ln_rows = c.ln_rows, p.ln_dim = c.ln_dim;
    p.seed = c.seed, p.step = c.step, p.noise_id = c.noise_id, p.noise_in = c.noise_in;
    p.noise_rows = NoiseRows{c.noise_rows_total, c.noise_rows_first};
    p.a = c.a, p.d = c.d, p.z = c.z, p.rstd = c.rstd, p.gz = c.gz;
    return p;
}

}  // namespace fg::plugin_args
