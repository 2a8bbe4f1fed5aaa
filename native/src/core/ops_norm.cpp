// C ABI: LayerNorm (forward, JVP, VJP) and the perturbed ReLU (JVP, backward).
#include "context.h"

using fg::guard;

extern "C" {

FG_API fg_status fg_layernorm_forward(fg_context* context, int64_t rows, int64_t dim, const fg_buffer* x,
                                      fg_buffer* y, fg_buffer* mean, fg_buffer* rstd) {
    return guard("fg_layernorm_forward", [&] {
        fg_context& c = fg::check_context(context);
        fg::check_positive("rows", rows);
        fg::check_positive("dim", dim);
        const uint64_t n = fg::elements({rows, dim});
        const float* xp = fg::in_f32(c, x, n, "x");
        float* yp = fg::out_f32(c, y, n, "y");
        float* mp = fg::out_f32(c, mean, static_cast<uint64_t>(rows), "mean");
        float* rp = fg::out_f32(c, rstd, static_cast<uint64_t>(rows), "rstd");
        c.be().layernorm_forward(rows, dim, xp, yp, mp, rp);
    });
}

FG_API fg_status fg_layernorm_jvp(fg_context* context, int64_t rows, int64_t dim, int64_t tangents,
                                  const fg_buffer* y, const fg_buffer* rstd, const fg_buffer* xdot, fg_buffer* ydot) {
    return guard("fg_layernorm_jvp", [&] {
        fg_context& c = fg::check_context(context);
        fg::check_positive("rows", rows);
        fg::check_positive("dim", dim);
        fg::check_nonnegative("tangents", tangents);
        const float* yp = fg::in_f32(c, y, fg::elements({rows, dim}), "y");
        const float* rp = fg::in_f32(c, rstd, static_cast<uint64_t>(rows), "rstd");
        if (tangents == 0) return;  // no tangent rows: xdot and ydot are not touched
        const uint64_t n = fg::elements({tangents, rows, dim});
        const float* xd = fg::in_f32(c, xdot, n, "xdot");
        float* yd = fg::out_f32(c, ydot, n, "ydot");
        c.be().layernorm_jvp(rows, dim, tangents, yp, rp, xd, yd);
    });
}

FG_API fg_status fg_layernorm_vjp(fg_context* context, int64_t rows, int64_t dim, const fg_buffer* y,
                                  const fg_buffer* rstd, const fg_buffer* dy, fg_buffer* dx) {
    return guard("fg_layernorm_vjp", [&] {
        fg_context& c = fg::check_context(context);
        fg::check_positive("rows", rows);
        fg::check_positive("dim", dim);
        const uint64_t n = fg::elements({rows, dim});
        const float* yp = fg::in_f32(c, y, n, "y");
        const float* rp = fg::in_f32(c, rstd, static_cast<uint64_t>(rows), "rstd");
        const float* dyp = fg::in_f32(c, dy, n, "dy");
        float* dxp = fg::out_f32(c, dx, n, "dx");
        c.be().layernorm_vjp(rows, dim, yp, rp, dyp, dxp);
    });
}

FG_API fg_status fg_relu_jvp(fg_context* context, int64_t count, int64_t tangents, const fg_buffer* z,
                             const fg_buffer* residual, const fg_buffer* zdot, const fg_buffer* u,
                             const fg_buffer* residual_dot, fg_buffer* a, fg_buffer* adot) {
    return guard("fg_relu_jvp", [&] {
        fg_context& c = fg::check_context(context);
        fg::check_positive("count", count);
        fg::check_nonnegative("tangents", tangents);
        const uint64_t n = static_cast<uint64_t>(count);
        const float* zp = fg::in_f32(c, z, n, "z");
        const float* rp = fg::opt_in_f32(c, residual, n, "residual");
        float* ap = fg::out_f32(c, a, n, "a");
        const float *zd = nullptr, *up = nullptr, *rd = nullptr;
        float* ad = nullptr;
        if (tangents > 0) {  // with K = 0 the tangent buffers are ignored
            const uint64_t nk = fg::elements({tangents, count});
            zd = fg::opt_in_f32(c, zdot, nk, "zdot");
            up = fg::opt_in_f32(c, u, nk, "u");
            rd = fg::opt_in_f32(c, residual_dot, nk, "residual_dot");
            ad = fg::out_f32(c, adot, nk, "adot");
        }
        c.be().relu_jvp(count, tangents, zp, rp, zd, up, rd, ap, ad);
    });
}

FG_API fg_status fg_relu_backward(fg_context* context, int64_t count, const fg_buffer* a, const fg_buffer* da,
                                  fg_buffer* dz) {
    return guard("fg_relu_backward", [&] {
        fg_context& c = fg::check_context(context);
        fg::check_positive("count", count);
        const uint64_t n = static_cast<uint64_t>(count);
        const float* ap = fg::in_f32(c, a, n, "a");
        const float* dap = fg::in_f32(c, da, n, "da");
        float* dzp = fg::out_f32(c, dz, n, "dz");
        c.be().relu_backward(count, ap, dap, dzp);
    });
}

}  // extern "C"
