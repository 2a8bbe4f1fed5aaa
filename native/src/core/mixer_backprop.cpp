// Exact gradients: BP (final loss end to end), L-BP (the sum of the local losses end to end, the final
// classifier on detached features) and LG-BP (each block its own local loss, stop-gradient between
// blocks, one block alive at a time). FA, L-FA and LG-FA run the same backward passes with fixed random
// feedback matrices carrying the gradient to each layer's input; DFA sends the output error straight to
// every layer through its own fixed matrix.
#include "mixer.h"
#include "ops.h"
#include "ops_loss.h"

namespace fg::mixer {

namespace {

// dy (R, m): gradient w.r.t. the layer's ReLU output. Runs it back through the ReLU and the post-linear LN
// into dh (R, m) (masked, if not null, also gets the ReLU's masked gradient: the residual's), then writes
// the layer's dW, db and, if dx, the gradient w.r.t. the layer input (R, n), through the weight or, in FA,
// its feedback matrix.
void layer_backward(fg_mixer& m, const Run& run, int64_t k, int32_t layer, const float* x, const LayerActs& L,
                    const float* dy, float* masked, float* dh, float* dx) {
    fg_context& c = *m.context;
    Backend& be = c.be();
    const LayerSpec sp = layer_spec(m, run.R, k, layer);
    const Param& W = m.params[static_cast<size_t>(sp.param)];
    const Param& b = m.params[static_cast<size_t>(sp.param) + 1];
    Backend::ReluNormVjp p;
    p.rows = run.R, p.width = sp.m, p.ln_rows = sp.ln_rows, p.ln_dim = sp.ln_dim;
    p.mask = relu_sign(L, k, layer), p.dy = dy, p.masked = masked, p.z = L.z, p.rstd = L.z_rstd, p.dh = dh;
    be.relu_norm_vjp(p);
    const float* back = dx && run.feedback ? transposed_feedback(m, sp.param) : W.w();
    ops::linear_backward(c, sp.kind, run.R, sp.n, sp.m, sp.groups, m.dims.pre_ln ? L.xn : x, back, dh, dx, W.g(),
                         b.g(), false);
    if (dx && m.dims.pre_ln) be.layernorm_vjp(sp.pre_rows, sp.pre_dim, L.xn, L.xn_rstd, dx, dx);
}

// ws.grad_out (R, C): gradient w.r.t. block k's output. Writes the block's backbone gradients; with
// want_dx, ws.grad_out becomes the gradient w.r.t. the block input x.
void block_backward(fg_mixer& m, const Run& run, int64_t k, const float* x, const BlockActs& a, bool want_dx) {
    Workspace& ws = m.ws;
    const int64_t RC = run.R * m.dims.C;
    // out = ReLU(z + x): grad_out becomes the gradient w.r.t. z (and, for k >= 1, w.r.t. the residual x).
    layer_backward(m, run, k, kGroupLayer, a.channel.a, a.group, ws.grad_out, ws.grad_out, ws.grad_a, ws.grad_b);
    float* dx_channel = k >= 1 ? ws.grad_c : nullptr;
    layer_backward(m, run, k, kChannelLayer, layer_input(m, k, kChannelLayer, x, a), a.channel, ws.grad_b, nullptr,
                   ws.grad_b, dx_channel);
    if (k == 0) return;
    layer_backward(m, run, k, kTokenLayer, x, a.token, ws.grad_c, nullptr, ws.grad_c, want_dx ? ws.grad_b : nullptr);
    if (want_dx) ops::add(*m.context, RC, ws.grad_b, ws.grad_out);  // residual + token path
}

// Block k's local loss: the head gradient (times head_lr), its batch-mean loss into ws.means and, with
// dx_out, the loss gradient w.r.t. the block output written (accumulate = false) or added to dx_out.
void block_head(fg_mixer& m, const Run& run, int64_t k, const BlockActs& a, float* dx_out, bool accumulate) {
    Backend& be = m.context->be();
    Workspace& ws = m.ws;
    const int64_t RC = run.R * m.dims.C;
    const int32_t head = m.blocks[static_cast<size_t>(k)].head;
    const bool direct = dx_out && !accumulate && !m.dims.inter_ln;
    float* dx = dx_out ? (direct ? dx_out : ws.grad_a) : nullptr;
    const float* back = dx && run.feedback ? transposed_feedback(m, head) : nullptr;
    head_loss(m, run, k, head, m.dims.G, block_feature(m, a), nullptr, nullptr, true, run.head_lr, dx, 0, back);
    if (!dx_out || direct) return;
    if (m.dims.inter_ln) be.layernorm_vjp(run.R * m.dims.G, m.dims.c, a.on, a.on_rstd, ws.grad_a, ws.grad_a);
    if (accumulate)
        ops::add(*m.context, RC, ws.grad_a, dx_out);
    else
        be.copy(dx_out, ws.grad_a, static_cast<size_t>(RC) * sizeof(float));
}

// DFA's signal for one layer's output, delta (R, C): delta[n, p] = back e_n / P, with e = softmax - onehot of
// the final classifier over the batch size (the final loss's gradient w.r.t. its logits) and back (C, N) the
// layer's feedback matrix; 1/P as the patch mean before the classifier.
void direct_signal(fg_mixer& m, const Run& run, const float* x_last, const float* back, float* delta) {
    fg_context& c = *m.context;
    const Dims& d = m.dims;
    const Param& W = m.params[static_cast<size_t>(m.final_w)];
    const Param& b = m.params[static_cast<size_t>(m.final_w) + 1];
    if (!d.final_ln) {
        ops::local_loss(c, run.B, d.P, d.C, 1, d.N, 0, x_last, nullptr, W.w(), b.w(), run.labels, nullptr, nullptr,
                        nullptr, nullptr, nullptr, delta, back);
        return;
    }
    ops::local_loss(c, run.B, 1, d.C, 1, d.N, 0, m.ws.xbar_ln, nullptr, W.w(), b.w(), run.labels, nullptr, nullptr,
                    nullptr, nullptr, nullptr, m.ws.grad_xbar, back);
    c.be().broadcast_mid(run.B, d.P, d.C, m.ws.grad_xbar, 1.0f / static_cast<float>(d.P), delta);
}

// DFA: every block's forward pass is kept; the final classifier (reading detached features) gives the output
// error, and each layer's weights get X^T LN_vjp([A > 0] * delta) with its own delta. Heads as usual.
void direct_feedback_gradients(fg_mixer& m, const Run& run) {
    Workspace& ws = m.ws;
    const int64_t blocks = m.dims.blocks;
    const float* x = nullptr;
    for (int64_t k = 0; k < blocks; ++k) {
        BlockActs& a = ws.slots[static_cast<size_t>(k)];
        block_forward(m, run, k, x, nullptr, a);
        block_head(m, run, k, a, nullptr, false);
        x = a.group.a;
    }
    final_loss(m, run, x, nullptr, nullptr, run.last_lr, nullptr);
    for (int64_t k = 0; k < blocks; ++k) {
        const BlockActs& a = ws.slots[static_cast<size_t>(k)];
        const float* xk = k >= 1 ? ws.slots[static_cast<size_t>(k - 1)].group.a : nullptr;
        for (int32_t layer = k == 0 ? kChannelLayer : kTokenLayer; layer <= kGroupLayer; ++layer) {
            const LayerActs& L = layer == kTokenLayer ? a.token : layer == kChannelLayer ? a.channel : a.group;
            direct_signal(m, run, x, direct_feedback(m, k, layer), ws.grad_a);
            layer_backward(m, run, k, layer, layer_input(m, k, layer, xk, a), L, ws.grad_a, nullptr, ws.grad_a,
                           nullptr);
        }
    }
}

}  // namespace

void backprop_gradients(fg_mixer& m, const Run& run, fg_step_stats& stats) {
    Workspace& ws = m.ws;
    const int64_t blocks = m.dims.blocks;
    if (run.method == FG_METHOD_DFA) {
        direct_feedback_gradients(m, run);
        return;
    }
    const int32_t structure = backprop_structure(run.method);
    if (structure == FG_METHOD_LGBP) {  // the one structure a pipeline stage (a block range) runs
        const int64_t last = last_block(m, run);
        const float* x = run.input;
        for (int64_t k = run.first; k < last; ++k) {
            BlockActs& a = ws.slots[static_cast<size_t>(k % 2)];
            block_forward(m, run, k, x, nullptr, a);
            block_head(m, run, k, a, ws.grad_out, false);
            block_backward(m, run, k, x, a, false);
            x = a.group.a;
        }
        if (last == blocks) final_loss(m, run, x, nullptr, nullptr, run.last_lr, nullptr);
        return;
    }
    const float* x = nullptr;
    for (int64_t k = 0; k < blocks; ++k) {
        block_forward(m, run, k, x, nullptr, ws.slots[static_cast<size_t>(k)]);
        x = ws.slots[static_cast<size_t>(k)].group.a;
    }
    // BP: the final loss reaches the backbone. L-BP: the final classifier reads detached features, and each
    // block's loss gradient joins the backward pass at its output. With contrastive local losses the final
    // classifier is a readout on detached features and the last block's loss drives the backbone (BP).
    const bool lbp = structure == FG_METHOD_LBP;
    const bool final_drives = !lbp && !m.dims.contrastive;
    const float* back = final_drives && run.feedback ? transposed_feedback(m, m.final_w) : nullptr;
    final_loss(m, run, x, nullptr, nullptr, run.last_lr, final_drives ? ws.grad_out : nullptr, back);
    for (int64_t k = blocks - 1; k >= 0; --k) {
        const BlockActs& a = ws.slots[static_cast<size_t>(k)];
        const float* xk = k >= 1 ? ws.slots[static_cast<size_t>(k - 1)].group.a : nullptr;
        const bool into_backbone = lbp || (m.dims.contrastive && k == blocks - 1);
        block_head(m, run, k, a, into_backbone ? ws.grad_out : nullptr, k < blocks - 1);
        block_backward(m, run, k, xk, a, k >= 1);
    }
}

}  // namespace fg::mixer
