// The fused contrastive local loss, composed from backend primitives, and its C export.
// Only view 1 carries a gradient (view 2 is a stop-gradient), and loss_n depends on view 1 only through
// image n's pooled feature, so, as for the supervised loss, every (patch, group) copy's directional
// derivative is one grouped dot product of the tangents with v_n = dL/dxbar_n.
#include "ops_contrastive.h"

#include <numeric>
#include <string>
#include <vector>

#include "ops_loss.h"

namespace fg::ops {

// ones (P), xbar (2B,C), e (2B,D), inv_norm (2B), logits and s (B,B), targets (B int32), g (B,D), v (2B,C).
uint64_t contrastive_loss_scratch_floats(int64_t pairs, int64_t patches, int64_t channels, int64_t dim) {
    const int64_t B2 = 2 * pairs;
    return scratch_aligned(static_cast<uint64_t>(patches)) + 2 * scratch_aligned(elements({B2, channels})) +
           scratch_aligned(elements({B2, dim})) + scratch_aligned(static_cast<uint64_t>(B2)) +
           2 * scratch_aligned(elements({pairs, pairs})) + scratch_aligned(static_cast<uint64_t>(pairs)) +
           scratch_aligned(elements({pairs, dim}));
}

void contrastive_loss(fg_context& c, int64_t pairs, int64_t patches, int64_t channels, int64_t groups, int64_t dim,
                      int64_t tangents, int64_t tangent_views, float temperature, const float* x, const float* xdot,
                      const float* w, const float* b, float* loss, float* d, float* dw, float* db, float* dx) {
    Backend& be = c.be();
    const int64_t B = pairs, B2 = 2 * pairs, P = patches, C = channels, D = dim;
    float* ones = c.scratch_floats(contrastive_loss_scratch_floats(B, P, C, D));
    float* xbar = ones + scratch_aligned(P);
    float* v = xbar + scratch_aligned(elements({B2, C}));
    float* e = v + scratch_aligned(elements({B2, C}));
    float* inv_norm = e + scratch_aligned(elements({B2, D}));
    float* logits = inv_norm + scratch_aligned(B2);
    float* s = logits + scratch_aligned(elements({B, B}));
    auto* targets = reinterpret_cast<int32_t*>(s + scratch_aligned(elements({B, B})));
    float* g = reinterpret_cast<float*>(targets) + scratch_aligned(B);

    // e (2B,D) = normalize(xbar W + b) for both views at once.
    patch_mean(c, B2, P, C, x, ones, xbar);
    be.gemm(contiguous_gemm(false, false, B2, D, C, 1.0f, xbar, w, 0.0f, e));
    be.add_bias(B2, D, 1, e, b);
    be.l2_normalize(B2, D, e, e, inv_norm);
    const float* e1 = e;
    const float* e2 = e + B * D;

    // logits (B,B) = e1 e2^T / t; image n's positive is column n.
    be.gemm(contiguous_gemm(false, true, B, B, D, 1.0f / temperature, e1, e2, 0.0f, logits));
    std::vector<int32_t> host_targets(static_cast<size_t>(B));
    std::iota(host_targets.begin(), host_targets.end(), 0);
    be.upload(targets, host_targets.data(), host_targets.size() * sizeof(int32_t));
    be.softmax_xent(B, B, logits, targets, loss, s);  // s = softmax - onehot

    const bool want_d = d && tangents > 0;
    if (!want_d && !dw && !db && !dx) return;
    // g (B,D) = dL/dz1 of the batch mean: normalize_vjp(s e2 / (t B)).
    be.gemm(contiguous_gemm(false, false, B, D, B, 1.0f / (temperature * static_cast<float>(B)), s, e2, 0.0f, g));
    be.l2_normalize_vjp(B, D, e1, inv_norm, g, g);
    if (dw) be.gemm(contiguous_gemm(true, false, C, D, B, 1.0f, xbar, g, 0.0f, dw));  // view 1's xbar
    if (db) be.sum_mid(B, D, 1, g, 1.0f, db, false);
    if (!want_d && !dx) return;
    // v (2B,C): g W^T for view 1, zero for the stop-gradient view 2 (read only by dx and two-view tangents).
    be.gemm(contiguous_gemm(false, true, B, C, D, 1.0f, g, w, 0.0f, v));
    if (dx || (want_d && tangent_views == 2)) be.fill(v + B * C, static_cast<size_t>(B * C), 0.0f);
    const float per_patch = 1.0f / static_cast<float>(P);
    if (want_d) be.group_dot(tangents, tangent_views * B, P, C, groups, xdot, v, per_patch, d);
    if (dx) be.broadcast_mid(B2, P, C, v, per_patch, dx);
}

}  // namespace fg::ops

extern "C" FG_API fg_status fg_contrastive_loss(fg_context* context, int64_t pairs, int64_t patches, int64_t channels,
                                                int64_t groups, int64_t dim, int64_t tangents, float temperature,
                                                const fg_buffer* x, const fg_buffer* xdot, const fg_buffer* w,
                                                const fg_buffer* b, fg_buffer* loss, fg_buffer* d, fg_buffer* dw,
                                                fg_buffer* db, fg_buffer* dx) {
    return fg::guard("fg_contrastive_loss", [&] {
        fg_context& c = fg::check_context(context);
        fg::check_positive("pairs", pairs);
        fg::check_positive("patches", patches);
        fg::check_positive("channels", channels);
        fg::check_positive("dim", dim);
        fg::check_divides("groups", groups, "channels", channels);
        fg::check_nonnegative("tangents", tangents);
        if (!(temperature > 0.0f))
            fg::invalid("temperature (" + std::to_string(temperature) + ") must be > 0");
        const uint64_t xpc = fg::elements({2, pairs, patches, channels});
        const uint64_t cd = fg::elements({channels, dim});
        const float* xp = fg::in_f32(c, x, xpc, "x");
        const float* wp = fg::in_f32(c, w, cd, "w");
        const float* bp = fg::in_f32(c, b, static_cast<uint64_t>(dim), "b");
        float* lossp = fg::opt_out_f32(c, loss, static_cast<uint64_t>(pairs), "loss");
        float* dwp = fg::opt_out_f32(c, dw, cd, "dw");
        float* dbp = fg::opt_out_f32(c, db, static_cast<uint64_t>(dim), "db");
        float* dxp = fg::opt_out_f32(c, dx, xpc, "dx");
        const float* xdotp = nullptr;
        float* dp = nullptr;
        if (tangents > 0) {
            xdotp = fg::opt_in_f32(c, xdot, fg::elements({tangents, 2, pairs, patches, channels}), "xdot");
            dp = fg::opt_out_f32(c, d, fg::elements({tangents, 2, pairs, patches, groups}), "d");
            if (dp && !xdotp)
                fg::invalid("xdot is NULL but d is requested with tangents = " + std::to_string(tangents));
        }
        fg::ops::contrastive_loss(c, pairs, patches, channels, groups, dim, tangents, 2, temperature, xp, xdotp, wp, bp,
                                  lossp, dp, dwp, dbp, dxp);
    });
}
