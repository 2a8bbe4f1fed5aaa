// The fused local loss (METHOD.md section 2), composed from backend primitives, and its C export.
// All P*G loss copies share one value, so one head pass per example serves them all: with
// s = softmax - onehot and v = W s, copy (n, p, g) has directional derivative
// <xdot[n,p,g-part], v[n,g-part]> / (P*B), and nothing of size P*G*C is ever formed.
#include "ops_loss.h"

#include <string>
#include <vector>

namespace fg::ops {

namespace {
uint64_t aligned(uint64_t floats) { return scratch_aligned(floats); }
}  // namespace

void patch_mean(fg_context& c, int64_t batch, int64_t patches, int64_t channels, const float* x, float* ones,
                float* xbar) {
    // xbar[n] (1,C) = (1/P) * ones (1,P) x[n] (P,C): one strided-batched GEMM over the batch.
    c.be().fill(ones, static_cast<size_t>(patches), 1.0f);
    GemmArgs mean = contiguous_gemm(false, false, 1, channels, patches, 1.0f / static_cast<float>(patches), ones, x,
                                    0.0f, xbar);
    mean.stride_b = patches * channels;
    mean.stride_c = channels;
    mean.batch = batch;
    c.be().gemm(mean);
}

void download_checked_labels(fg_context& c, const int32_t* labels, int64_t batch, int64_t classes,
                             std::vector<int32_t>& host) {
    host.resize(static_cast<size_t>(batch));
    c.be().download(host.data(), labels, host.size() * sizeof(int32_t));
    for (int64_t n = 0; n < batch; ++n)
        if (host[n] < 0 || host[n] >= classes)
            invalid("labels[" + std::to_string(n) + "] = " + std::to_string(host[n]) + " is outside [0, classes = " +
                    std::to_string(classes) + ")");
}

// ones (P), xbar (B,C), logits (B,N), s (B,N), v (B,C).
uint64_t local_loss_scratch_floats(int64_t batch, int64_t patches, int64_t channels, int64_t classes) {
    const uint64_t bc = elements({batch, channels}), bn = elements({batch, classes});
    return aligned(static_cast<uint64_t>(patches)) + 2 * aligned(bc) + 2 * aligned(bn);
}

void local_loss(fg_context& c, int64_t batch, int64_t patches, int64_t channels, int64_t groups, int64_t classes,
                int64_t tangents, const float* x, const float* xdot, const float* w, const float* b,
                const int32_t* labels, float* loss, float* logits, float* d, float* dw, float* db, float* dx,
                const float* w_back) {
    Backend& be = c.be();
    const int64_t B = batch, P = patches, C = channels, N = classes;
    float* ones = c.scratch_floats(local_loss_scratch_floats(B, P, C, N));
    float* xbar = ones + aligned(P);
    float* s = xbar + aligned(elements({B, C}));
    float* v = s + aligned(elements({B, N}));
    if (!logits) logits = v + aligned(elements({B, C}));

    patch_mean(c, B, P, C, x, ones, xbar);

    // logits (B,N) = xbar (B,C) W (C,N) + b
    be.gemm(contiguous_gemm(false, false, B, N, C, 1.0f, xbar, w, 0.0f, logits));
    be.add_bias(B, N, 1, logits, b);

    be.softmax_xent(B, N, logits, labels, loss, s);  // s (B,N) = softmax - onehot

    const bool want_d = d && tangents > 0;
    // v (B,C) = s (B,N) W^T (N,C)
    if (want_d || dx) be.gemm(contiguous_gemm(false, true, B, C, N, 1.0f, s, w_back ? w_back : w, 0.0f, v));
    const float per_copy = 1.0f / static_cast<float>(P * B);  // patch mean times batch mean
    if (want_d) be.group_dot(tangents, B, P, C, groups, xdot, v, per_copy, d);
    // dw (C,N) = xbar^T (C,B) s (B,N) / B
    if (dw) be.gemm(contiguous_gemm(true, false, C, N, B, 1.0f / static_cast<float>(B), xbar, s, 0.0f, dw));
    if (db) be.sum_mid(B, N, 1, s, 1.0f / static_cast<float>(B), db, false);
    if (dx) be.broadcast_mid(B, P, C, v, per_copy, dx);  // dx[n,p,:] = v[n] / (P*B)
}

}  // namespace fg::ops

extern "C" FG_API fg_status fg_local_loss(fg_context* context, int64_t batch, int64_t patches, int64_t channels,
                                          int64_t groups, int64_t classes, int64_t tangents, const fg_buffer* x,
                                          const fg_buffer* xdot, const fg_buffer* w, const fg_buffer* b,
                                          const fg_buffer* labels, fg_buffer* loss, fg_buffer* logits, fg_buffer* d,
                                          fg_buffer* dw, fg_buffer* db, fg_buffer* dx) {
    return fg::guard("fg_local_loss", [&] {
        fg_context& c = fg::check_context(context);
        fg::check_positive("batch", batch);
        fg::check_positive("patches", patches);
        fg::check_positive("channels", channels);
        fg::check_positive("classes", classes);
        fg::check_divides("groups", groups, "channels", channels);
        fg::check_nonnegative("tangents", tangents);
        const uint64_t bpc = fg::elements({batch, patches, channels});
        const uint64_t bn = fg::elements({batch, classes});
        const uint64_t cn = fg::elements({channels, classes});
        const float* xp = fg::in_f32(c, x, bpc, "x");
        const float* wp = fg::in_f32(c, w, cn, "w");
        const float* bp = fg::in_f32(c, b, static_cast<uint64_t>(classes), "b");
        const int32_t* lp = fg::in_i32(c, labels, static_cast<uint64_t>(batch), "labels");
        float* lossp = fg::opt_out_f32(c, loss, static_cast<uint64_t>(batch), "loss");
        float* logitp = fg::opt_out_f32(c, logits, bn, "logits");
        float* dwp = fg::opt_out_f32(c, dw, cn, "dw");
        float* dbp = fg::opt_out_f32(c, db, static_cast<uint64_t>(classes), "db");
        float* dxp = fg::opt_out_f32(c, dx, bpc, "dx");
        const float* xdotp = nullptr;
        float* dp = nullptr;
        if (tangents > 0) {
            const uint64_t kbpc = fg::elements({tangents, batch, patches, channels});
            xdotp = fg::opt_in_f32(c, xdot, kbpc, "xdot");
            dp = fg::opt_out_f32(c, d, fg::elements({tangents, batch, patches, groups}), "d");
            if (dp && !xdotp)
                fg::invalid("xdot is NULL but d is requested with tangents = " + std::to_string(tangents));
        }
        std::vector<int32_t> host;
        fg::ops::download_checked_labels(c, lp, batch, classes, host);
        fg::ops::local_loss(c, batch, patches, channels, groups, classes, tangents, xp, xdotp, wp, bp, lp, lossp,
                            logitp, dp, dwp, dbp, dxp);
    });
}
