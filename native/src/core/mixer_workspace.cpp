// The step workspace: one allocation carved per method. Backprop (BP, L-BP) and global FG-A keep
// every block's primal activations until the end of the step; local methods (and FG-W, which keeps
// none) run one block at a time in two alternating slots, so their size does not depend on the depth.
// K stacked tangents never stay per layer: each layer's pass through a few rotating (K, R, C) buffers,
// and the activity noise is drawn again for the estimate instead of being kept (LG-FG-A keeps the
// noise of as many of one block's layers as fit fg_context::keep_noise_max_bytes), so K adds the same
// few buffers whatever the depth.
#include <algorithm>

#include "mixer.h"

namespace fg::mixer {

namespace {

// Hands out 64-byte aligned float ranges; with base == nullptr it only counts.
struct Carver {
    char* base;
    size_t used = 0;
    float* take(uint64_t floats) {
        if (floats == 0) return nullptr;
        const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        float* p = base ? reinterpret_cast<float*>(base + used) : nullptr;
        used += bytes;
        return p;
    }
};

}  // namespace

size_t plan_workspace(const fg_mixer& m, int32_t method, int64_t K, int64_t B, char* base, Workspace* ws) {
    const Dims& d = m.dims;
    const uint64_t R = elements({B, d.P});
    // Tangents cover the first Rt rows: all R, or view 1's of a contrastive batch (tangent_batch).
    const uint64_t Rt = elements({tangent_batch(m, method, B), d.P});
    const uint64_t RC = R * d.C, KRC = static_cast<uint64_t>(K) * Rt * d.C;
    const bool act = is_activity(method), bp = is_backprop(method), fg = !bp && method != kForwardOnly;
    // Slots: every block's activations where the end of the step needs them all; else two.
    const int32_t structure = backprop_structure(method);
    const bool all_blocks = structure == FG_METHOD_BP || structure == FG_METHOD_LBP || method == FG_METHOD_FGA ||
                            method == FG_METHOD_DFA;
    const int64_t nslots = all_blocks ? d.blocks : std::min<int64_t>(d.blocks, 2);
    // Forward-gradient methods running one block at a time keep only the block outputs apart.
    const bool shared_slots = fg && !all_blocks && nslots == 2;
    Carver cv{base};
    Workspace counting;  // no slots: a sizing pass allocates nothing
    Workspace& w = ws ? *ws : counting;
    if (ws) {  // reset every pointer, keeping the slot vector's capacity across steps
        std::vector<BlockActs> slots = std::move(ws->slots);
        *ws = Workspace{};
        slots.assign(static_cast<size_t>(nslots), BlockActs{});
        ws->slots = std::move(slots);
    }
    BlockActs unused;
    auto layer = [&](LayerActs& L, uint64_t in_floats, uint64_t ln_rows, bool with_output) {
        if (d.pre_ln) {
            L.xn = cv.take(in_floats);
            L.xn_rstd = cv.take(ln_rows);
        }
        L.z = cv.take(RC);
        L.z_rstd = cv.take(ln_rows);
        if (with_output) L.a = cv.take(RC);
    };
    for (int64_t i = 0; i < nslots; ++i) {
        BlockActs& s = ws ? w.slots[static_cast<size_t>(i)] : unused;
        if (shared_slots && i == 1) {  // the first slot's buffers, but its own block output
            if (ws) s = w.slots[0];
            s.group.a = cv.take(RC);
            continue;
        }
        if (d.blocks > 1) layer(s.token, RC, R, true);
        layer(s.channel, R * std::max(d.Din, d.C), R, true);
        layer(s.group, RC, R * d.G, true);
        if (d.inter_ln) {
            s.on = cv.take(RC);
            s.on_rstd = cv.take(R * d.G);
        }
    }
    w.patches = cv.take(R * d.Din);
    w.h = cv.take(RC);
    w.ln_mean = cv.take(R * d.G);
    w.xbar = cv.take(elements({B, d.C}));
    if (d.final_ln) {
        w.xbar_ln = cv.take(elements({B, d.C}));
        w.xbar_rstd = cv.take(B);
        w.grad_xbar = cv.take(elements({B, d.C}));
    }
    w.loss = cv.take(B);
    w.logits = cv.take(elements({B, d.N}));
    w.means = cv.take(FG_MAX_BLOCKS + 1);
    w.d = cv.take(static_cast<uint64_t>(std::max<int64_t>(K, 1)) * (K > 0 ? Rt : R) * d.G);
    if (fg && K > 0) {
        // Live at once: a layer's input and output tangents, the LN of the input [pre_ln], and, where
        // tangents cross blocks (FG-A, FG-W), the block input's for the residual.
        const bool tangents_cross_blocks = method == FG_METHOD_FGA || method == FG_METHOD_FGW;
        const int ntan = 2 + (tangents_cross_blocks ? 1 : 0) + (d.pre_ln ? 1 : 0);
        for (int i = 0; i < ntan; ++i) w.tan[i] = cv.take(KRC);
    }
    if (act) {
        // LG-FG-A keeps as many of a block's layers' noise as fit the budget (channel layer first, then group,
        // then token): each kept layer's noise is drawn once instead of twice. FG-A would keep every block's,
        // so never does.
        const int layers = d.blocks > 1 ? 3 : 2;
        const uint64_t per_layer = KRC * sizeof(float);
        const int kept = method == FG_METHOD_LGFGA && per_layer > 0
                             ? static_cast<int>(std::min<uint64_t>(layers, m.context->keep_noise_max_bytes / per_layer))
                             : 0;
        const int order[3] = {kChannelLayer, kGroupLayer, kTokenLayer};
        for (int i = 0; i < kept; ++i) w.kept_noise[order[i]] = cv.take(KRC);
        if (kept < layers && !m.context->be().fuses_noise()) w.noise = cv.take(KRC);
        w.grad_z = cv.take(RC);
    }
    if (bp) {
        w.grad_out = cv.take(RC);
        w.grad_a = cv.take(RC);
        w.grad_b = cv.take(RC);
        w.grad_c = cv.take(RC);
    }
    if (is_weight(method)) w.vw = cv.take(static_cast<uint64_t>(K) * m.backbone_elements);
    return cv.used;
}

size_t prepare_workspace(fg_mixer& m, const Run& run) {
    const size_t need = plan_workspace(m, run.method, run.K, run.B, nullptr, nullptr);
    if (need > m.ws_capacity) {
        fg_context& c = *m.context;
        if (m.ws_data) c.deallocate(m.ws_data, m.ws_capacity);
        m.ws_data = nullptr;
        m.ws_capacity = 0;
        m.ws_data = c.allocate(need);
        m.ws_capacity = need;
    }
    plan_workspace(m, run.method, run.K, run.B, static_cast<char*>(m.ws_data), &m.ws);
    return need;
}

}  // namespace fg::mixer
