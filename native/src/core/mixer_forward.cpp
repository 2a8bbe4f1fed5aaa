// LocalMixer forward pass with stacked tangents: activity noise (FG-A), weight tangents (FG-W) or
// none (K = 0, the backprop methods), plus the local losses and the final classifier.
#include "mixer.h"
#include "ops.h"
#include "ops_loss.h"

namespace fg::mixer {

uint32_t noise_id(int64_t block, int32_t layer) { return 0x10000u + static_cast<uint32_t>(block) * 4u + layer; }
uint32_t tangent_id(int32_t param) { return 0x20000u + static_cast<uint32_t>(param); }

int64_t tangent_offset(const fg_mixer& m, int64_t K, int32_t param) {
    int64_t off = 0;
    for (int32_t i = 0; i < param; ++i) {
        const Param& p = m.params[static_cast<size_t>(i)];
        if (p.role == kToken || p.role == kChannel || p.role == kGroup) off += K * p.count();
    }
    return off;
}

void load_patches(fg_mixer& m, const Run& run) {
    const Dims& d = m.dims;
    m.context->be().patchify(run.B, d.H, d.W, d.Cin, d.grid, run.images, m.ws.patches);
}

namespace {

// Where one layer's tangents live: its input's (K, R, n) or null (a stop-gradient or a primal-only
// input), the LN of its input [pre_ln], its output's (K, R, m), and its residual's (K, R, m) or null.
struct LayerTangents {
    const float* in = nullptr;
    float* in_ln = nullptr;
    float* out = nullptr;
    const float* residual = nullptr;
};

// x (R, n) -> L.a (R, m):  [xn = LN(x)] ; h = xn W + b ; z = LN(h) ; a = ReLU(z + residual), and with
// K > 0 tangents t.out = the JVP of the same map (plus the weight tangents ws.vw and the activity noise) over
// the first Rt = tangent_rows rows; the rows after them run the primal map only.
void layer_forward(fg_mixer& m, const Run& run, int64_t block, int32_t layer, const LayerSpec& sp, const float* x,
                   const float* residual, const LayerTangents& t, LayerActs& L) {
    fg_context& c = *m.context;
    Backend& be = c.be();
    Workspace& ws = m.ws;
    const int64_t R = run.R, K = run.K, n = sp.n, mo = sp.m, Rt = K > 0 ? tangent_rows(m, run) : R;
    const int64_t ln_rows_t = sp.ln_rows / R * Rt;  // the post-linear LN's rows among the tangent rows
    const Param& W = m.params[static_cast<size_t>(sp.param)];
    const Param& b = m.params[static_cast<size_t>(sp.param) + 1];
    const float* x_tan = K > 0 ? t.in : nullptr;
    const float* xin = x;
    if (m.dims.pre_ln) {
        be.layernorm_forward(sp.pre_rows, sp.pre_dim, x, L.xn, ws.ln_mean, L.xn_rstd);
        if (x_tan) {
            be.layernorm_jvp(sp.pre_rows / R * Rt, sp.pre_dim, K, L.xn, L.xn_rstd, x_tan, t.in_ln);
            x_tan = t.in_ln;
        }
        xin = L.xn;
    }
    const float* vw = ws.vw ? ws.vw + tangent_offset(m, K, sp.param) : nullptr;
    const float* vb = ws.vw ? ws.vw + tangent_offset(m, K, sp.param + 1) : nullptr;
    float* h = ws.h;  // (R, m)
    // The bias goes into the layer tail where the backend fuses it: one pass over h fewer.
    const bool fuse_bias = be.fuses_bias();
    ops::linear_jvp(c, sp.kind, R, n, mo, sp.groups, 0, xin, W.w(), fuse_bias ? nullptr : b.w(), nullptr, h);
    const float* bias = fuse_bias ? b.w() : nullptr;
    const int64_t bias_period = sp.kind == FG_LAYER_TOKEN ? sp.groups : 0;  // the token layer's bias is per patch
    // Tangents: the same layer over the K*Rt tangent rows (whole samples for TOKEN), no bias; plus X Wdot_k.
    if (x_tan) ops::linear_jvp(c, sp.kind, K * Rt, n, mo, sp.groups, 0, x_tan, W.w(), nullptr, nullptr, t.out);
    if (vw) ops::linear_weight_jvp(c, sp.kind, Rt, n, mo, sp.groups, K, xin, vw, t.out, x_tan != nullptr);
    if (vb)
        for (int64_t k = 0; k < K; ++k) {
            float* hk = t.out + k * Rt * mo;
            if (sp.kind == FG_LAYER_TOKEN)
                be.add_bias(Rt / sp.groups, sp.groups, n, hk, vb + k * b.count());  // (S, P, C) += vb[q]
            else
                be.add_bias(Rt, mo, 1, hk, vb + k * b.count());
        }
    Backend::NormReluJvp p;
    p.rows = Rt, p.width = mo, p.ln_rows = ln_rows_t, p.ln_dim = sp.ln_dim, p.tangents = K;
    p.h = h, p.t = t.out, p.h_tangents = x_tan || vw;
    p.residual = residual, p.residual_dot = t.residual;
    p.noise = is_activity(run.method), p.seed = run.seed, p.step = run.step, p.noise_id = noise_id(block, layer);
    p.noise_rows = run.noise;
    p.noise_out = ws.kept_noise[layer];
    p.bias = bias, p.bias_period = bias_period;
    p.z = L.z, p.mean = ws.ln_mean, p.rstd = L.z_rstd, p.a = L.a;
    be.norm_relu_jvp(p, ws.noise);
    if (Rt == R) return;
    // The rows without tangents (view 2 of a contrastive batch): primal only. Every LN is within a row, so
    // splitting the rows changes no value.
    const int64_t done = Rt * mo;
    Backend::NormReluJvp q;
    q.rows = R - Rt, q.width = mo, q.ln_rows = sp.ln_rows - ln_rows_t, q.ln_dim = sp.ln_dim;
    q.h = h + done, q.residual = residual ? residual + done : nullptr;
    q.bias = bias, q.bias_period = bias_period;  // Rt is whole samples: row r + Rt is at patch r % P as well
    q.z = L.z + done, q.mean = ws.ln_mean + ln_rows_t, q.rstd = L.z_rstd + ln_rows_t, q.a = L.a + done;
    be.norm_relu_jvp(q, ws.noise);
}

}  // namespace

LayerSpec layer_spec(const fg_mixer& m, int64_t R, int64_t k, int32_t layer) {
    const Dims& d = m.dims;
    const BlockParams& bp = m.blocks[static_cast<size_t>(k)];
    if (layer == kTokenLayer)  // (B, P, C) mixed over P by one P x P matrix; LN over C
        return {FG_LAYER_TOKEN, d.C, d.C, d.P, R, d.C, R, d.C, bp.token};
    if (layer == kChannelLayer) {
        const int64_t n = k == 0 ? d.Din : d.C;
        return {FG_LAYER_DENSE, n, d.C, 1, R, d.C, R, n, bp.channel};
    }
    // Both LNs of the group layer are per group, so a group's units reach only their own group.
    return {FG_LAYER_GROUP, d.C, d.C, d.G, R * d.G, d.c, R * d.G, d.c, bp.group};
}

const float* layer_input(const fg_mixer& m, int64_t k, int32_t layer, const float* x, const BlockActs& a) {
    if (layer == kTokenLayer) return x;
    if (layer == kChannelLayer) return k == 0 ? m.ws.patches : a.token.a;
    return a.channel.a;
}

void block_forward(fg_mixer& m, const Run& run, int64_t k, const float* x, const float* x_tan, BlockActs& a) {
    const Dims& d = m.dims;
    const int64_t R = run.R;
    Workspace& ws = m.ws;
    // Tangent buffers other than the block input's: outputs alternate between the first two (a layer's
    // output is the next one's input), the third takes LN(input) [pre_ln].
    float* free[4] = {};
    int nfree = 0;
    for (float* buf : ws.tan)
        if (buf && buf != x_tan) free[nfree++] = buf;
    if (run.K == 0) x_tan = nullptr;
    if (k >= 1)
        layer_forward(m, run, k, kTokenLayer, layer_spec(m, R, k, kTokenLayer), x, nullptr,
                      {x_tan, free[2], free[0], nullptr}, a.token);
    // block 0 reads the images (no tangent); later layers always carry the tangents they got.
    layer_forward(m, run, k, kChannelLayer, layer_spec(m, R, k, kChannelLayer), layer_input(m, k, kChannelLayer, x, a),
                  nullptr, {k >= 1 ? free[0] : nullptr, free[2], free[1], nullptr}, a.channel);
    // block k >= 1 adds the residual before the last ReLU.
    layer_forward(m, run, k, kGroupLayer, layer_spec(m, R, k, kGroupLayer), a.channel.a, k >= 1 ? x : nullptr,
                  {free[1], free[2], free[0], k >= 1 ? x_tan : nullptr}, a.group);
    a.out_tan = run.K > 0 ? free[0] : nullptr;
    a.on_tan = nullptr;
    if (d.inter_ln) {
        Backend& be = m.context->be();
        // per group, like the group layer's LN: copy (n, p, g) of the local loss sees only group g
        be.layernorm_forward(R * d.G, d.c, a.group.a, a.on, ws.ln_mean, a.on_rstd);
        const bool local_loss_tangents = run.method == FG_METHOD_LGFGA || run.method == FG_METHOD_LGFGW;
        if (a.out_tan && local_loss_tangents) {  // only a local loss reads LN(out)'s tangents
            a.on_tan = free[1];
            be.layernorm_jvp(tangent_rows(m, run) * d.G, d.c, run.K, a.on, a.on_rstd, a.out_tan, a.on_tan);
        }
    }
}

const float* block_feature(const fg_mixer& m, const BlockActs& a) { return m.dims.inter_ln ? a.on : a.group.a; }
const float* block_feature_tangents(const fg_mixer& m, const BlockActs& a) {
    return m.dims.inter_ln ? a.on_tan : a.out_tan;
}

void head_loss(fg_mixer& m, const Run& run, int64_t k, int32_t head_w, int64_t groups, const float* x,
               const float* xdot, float* d, bool want_head, float grad_scale, float* dx, int64_t patches,
               const float* w_back) {
    if (m.dims.contrastive && k < m.dims.blocks) {
        contrastive_head_loss(m, run, k, groups, x, xdot, d, want_head, grad_scale, dx);
        return;
    }
    fg_context& c = *m.context;
    const Dims& dm = m.dims;
    Param& W = m.params[static_cast<size_t>(head_w)];
    Param& b = m.params[static_cast<size_t>(head_w) + 1];
    const bool tangents = d && xdot && run.K > 0;
    // Only the final classifier's logits are kept (for the accuracy); a block head's go to scratch.
    float* logits = k == dm.blocks ? m.ws.logits : nullptr;
    ops::local_loss(c, run.B, patches > 0 ? patches : dm.P, dm.C, groups, dm.N, tangents ? run.K : 0, x,
                    tangents ? xdot : nullptr, W.w(), b.w(), run.labels, m.ws.loss, logits, tangents ? d : nullptr,
                    want_head ? W.g() : nullptr, want_head ? b.g() : nullptr, dx, w_back);
    // the batch mean stays on the device: no synchronisation per head
    c.be().sum_mid(1, 1, run.B, m.ws.loss, 1.0f / static_cast<float>(run.B), m.ws.means + k, false);
    if (want_head) {
        scale_in_place(c, W.g(), W.count(), grad_scale);
        scale_in_place(c, b.g(), b.count(), grad_scale);
    }
    m.loss_written[static_cast<size_t>(k)] = true;
}

const float* final_features(fg_mixer& m, int64_t B, const float* x) {
    fg_context& c = *m.context;
    const Dims& d = m.dims;
    Workspace& ws = m.ws;
    ops::patch_mean(c, B, d.P, d.C, x, c.scratch_floats(static_cast<size_t>(d.P)), ws.xbar);
    if (!d.final_ln) return ws.xbar;
    c.be().layernorm_forward(B, d.C, ws.xbar, ws.xbar_ln, ws.ln_mean, ws.xbar_rstd);
    return ws.xbar_ln;
}

void final_loss(fg_mixer& m, const Run& run, const float* x, const float* xdot, float* d, float grad_scale,
                float* dx, const float* w_back) {
    const Dims& dm = m.dims;
    if (!dm.final_ln) {
        head_loss(m, run, dm.blocks, m.final_w, 1, x, xdot, d, true, grad_scale, dx, 0, w_back);
        return;
    }
    // The classifier reads LN(mean_p x) as a single patch; the gradient w.r.t. that patch mean goes back through
    // the LN and is shared by the P patches.
    Backend& be = m.context->be();
    Workspace& ws = m.ws;
    const int64_t B = run.B, P = dm.P, C = dm.C;
    const bool tangents = d && xdot && run.K > 0;
    float* g = tangents || dx ? ws.grad_xbar : nullptr;
    head_loss(m, run, dm.blocks, m.final_w, 1, final_features(m, B, x), nullptr, nullptr, true, grad_scale, g, 1,
              w_back);
    if (!g) return;
    be.layernorm_vjp(B, C, ws.xbar_ln, ws.xbar_rstd, g, g);
    const float per_patch = 1.0f / static_cast<float>(P);
    if (tangents) be.group_dot(run.K, B, P, C, 1, xdot, g, per_patch, d);
    if (dx) be.broadcast_mid(B, P, C, g, per_patch, dx);
}

void read_losses(fg_mixer& m, const Run& run, fg_step_stats& stats) {
    const int64_t blocks = m.dims.blocks, B = run.B, N = m.dims.N;
    const int64_t means_at = m.ws.means - m.ws.logits;  // B * N and the carver's padding
    m.host_results.resize(static_cast<size_t>(means_at + blocks + 1));
    m.context->be().download(m.host_results.data(), m.ws.logits, m.host_results.size() * sizeof(float));
    const float* means = m.host_results.data() + means_at;
    for (int64_t k = 0; k < blocks; ++k)
        if (m.loss_written[static_cast<size_t>(k)]) stats.block_loss[k] = means[k];
    if (!m.loss_written[static_cast<size_t>(blocks)]) return;
    stats.loss = means[blocks];
    int64_t right = 0;
    for (int64_t n = 0; n < B; ++n) {
        const float* l = m.host_results.data() + n * N;
        int64_t best = 0;
        for (int64_t j = 1; j < N; ++j)
            if (l[j] > l[best]) best = j;
        right += best == m.host_labels[static_cast<size_t>(n)];
    }
    stats.accuracy = static_cast<float>(right) / static_cast<float>(B);
}

}  // namespace fg::mixer
