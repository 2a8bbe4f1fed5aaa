// Forward-gradient methods: activity perturbation (FG-A, LG-FG-A) and weight perturbation
// (FG-W, LG-FG-W). One forward pass with K stacked tangents gives every directional derivative;
// no backward pass through the network is run.
#include <vector>

#include "mixer.h"
#include "ops.h"

namespace fg::mixer {

namespace {

// Activity perturbation of one layer: G_Z = fga_scale(u, act, d) (R, C) with the layer's noise u as the
// forward pass kept it, or drawn again from its Philox counters; the exact VJP of the post-linear LN (per
// group for the group layer);
// dW, db = linear backward with no dx.
void fga_layer(fg_mixer& m, const Run& run, int64_t k, int32_t layer, int32_t mode, int64_t d_groups, const float* d,
               const float* x, const BlockActs& a) {
    fg_context& c = *m.context;
    const LayerSpec sp = layer_spec(m, run.R, k, layer);
    const LayerActs& L = layer == kTokenLayer ? a.token : layer == kChannelLayer ? a.channel : a.group;
    const Param& W = m.params[static_cast<size_t>(sp.param)];
    const Param& b = m.params[static_cast<size_t>(sp.param) + 1];
    // Over the rows that carry tangents (tangent_batch): the others' estimate is zero.
    Backend::FgaNormVjp p;
    p.mode = mode, p.tangents = run.K, p.batch = tangent_batch(m, run.method, run.B), p.patches = m.dims.P;
    p.width = m.dims.C, p.groups = d_groups;
    p.ln_rows = sp.ln_rows / run.R * (p.batch * m.dims.P), p.ln_dim = sp.ln_dim;
    p.seed = run.seed, p.step = run.step, p.noise_id = noise_id(k, layer), p.noise_in = m.ws.kept_noise[layer];
    p.noise_rows = run.noise;
    // The estimate reads only the sign of a; from z (read for the LN VJP anyway) where it gives it.
    p.a = relu_sign(L, k, layer), p.d = d, p.z = L.z, p.rstd = L.z_rstd, p.gz = m.ws.grad_z;
    const float* xin = m.dims.pre_ln ? L.xn : layer_input(m, k, layer, x, a);
    ops::fga_weight_grad(c, p, m.ws.noise, sp.kind, sp.n, sp.groups, xin, W.g(), b.g(), false);
}

// All layers of block k from one d: global (FG-A: d (K,B,P,1), every unit uses sum_p d) or the
// block's own local losses (LG-FG-A: d (K,B,P,G); channel/group units use their group's d, token
// units their patch's sum over groups).
void fga_block(fg_mixer& m, const Run& run, int64_t k, const float* x, const BlockActs& a, bool global) {
    const int64_t dg = global ? 1 : m.dims.G;
    if (k >= 1) fga_layer(m, run, k, kTokenLayer, global ? FG_SCALE_GLOBAL : FG_SCALE_PATCH, dg, m.ws.d, x, a);
    fga_layer(m, run, k, kChannelLayer, global ? FG_SCALE_GLOBAL : FG_SCALE_GROUP, dg, m.ws.d, x, a);
    fga_layer(m, run, k, kGroupLayer, global ? FG_SCALE_GLOBAL : FG_SCALE_GROUP, dg, m.ws.d, x, a);
}

// Weight perturbation estimate of one parameter from ws.d: (1/K) sum_k D_k(slice) V_k.
void fgw_param(fg_mixer& m, const Run& run, int32_t index, int32_t slice, int64_t cols, int64_t d_groups) {
    const Param& p = m.params[static_cast<size_t>(index)];
    ops::fgw_grad(*m.context, slice, p.count(), cols, d_groups, run.R, run.K, m.ws.vw + tangent_offset(m, run.K, index),
                  m.ws.d, p.g(), false);
}

// LG-FG-W slices: a group block and its bias entries feed only their own group (its LN is per
// group), so they use that group's d. The channel layer is followed by an LN over all C channels,
// which spreads every column into every group, and the token layer mixes every group of a patch:
// both use the sum over groups. FG_SLICES_GROUP slices the channel layer per group instead, as the
// official code does, which biases its estimate.
void fgw_block_local(fg_mixer& m, const Run& run, int64_t k) {
    const Dims& d = m.dims;
    const BlockParams& bp = m.blocks[static_cast<size_t>(k)];
    if (bp.token >= 0) {
        fgw_param(m, run, bp.token, FG_WSLICE_ALL, d.P, d.G);
        fgw_param(m, run, bp.token + 1, FG_WSLICE_ALL, d.P, d.G);
    }
    const int32_t channel = run.channel_slices == FG_SLICES_GROUP ? FG_WSLICE_COLUMNS : FG_WSLICE_ALL;
    fgw_param(m, run, bp.channel, channel, d.C, d.G);
    fgw_param(m, run, bp.channel + 1, channel, d.C, d.G);
    fgw_param(m, run, bp.group, FG_WSLICE_LEADING, d.c, d.G);
    fgw_param(m, run, bp.group + 1, FG_WSLICE_COLUMNS, d.C, d.G);
}

// FG-W: every backbone parameter from the final loss's d (K, R, 1).
void fgw_global(fg_mixer& m, const Run& run) {
    for (size_t i = 0; i < m.params.size(); ++i) {
        const Param& p = m.params[i];
        if (p.role == kToken || p.role == kChannel || p.role == kGroup)
            fgw_param(m, run, static_cast<int32_t>(i), FG_WSLICE_ALL, p.count(), 1);
    }
}

// The tangents of the run's blocks (each parameter's are keyed by its index, so a stage draws its blocks' own).
void draw_weight_tangents(fg_mixer& m, const Run& run) {
    for (size_t i = 0; i < m.params.size(); ++i) {
        const Param& p = m.params[i];
        if (p.role != kToken && p.role != kChannel && p.role != kGroup) continue;
        if (p.info.block < run.first || p.info.block >= last_block(m, run)) continue;
        const int32_t index = static_cast<int32_t>(i);
        m.context->be().random_normal(m.ws.vw + tangent_offset(m, run.K, index),
                                      static_cast<uint64_t>(run.K * p.count()), run.seed, run.step, tangent_id(index), 0);
    }
}

// Adds the row sums of ws.d (K, R, groups) to run.fgw_sums at slot (one slot of K*groups per local loss).
void collect_sums(fg_mixer& m, const Run& run, int64_t slot, int64_t groups) {
    if (!run.fgw_sums) return;
    std::vector<float> d(static_cast<size_t>(run.K * run.R * groups));
    m.context->be().download(d.data(), m.ws.d, d.size() * sizeof(float));
    double* out = run.fgw_sums + slot * run.K * groups;
    for (int64_t k = 0; k < run.K; ++k)
        for (int64_t r = 0; r < run.R; ++r)
            for (int64_t g = 0; g < groups; ++g) out[k * groups + g] += d[static_cast<size_t>((k * run.R + r) * groups + g)];
}

}  // namespace

void forward_gradients(fg_mixer& m, const Run& run, fg_step_stats& stats) {
    Workspace& ws = m.ws;
    const int64_t blocks = m.dims.blocks;
    const bool local = run.method == FG_METHOD_LGFGA || run.method == FG_METHOD_LGFGW;
    const bool activity = is_activity(run.method);
    if (!activity) draw_weight_tangents(m, run);
    // FG-A keeps every block (the estimates need the final d); the others one block at a time.
    auto slot = [&](int64_t k) -> BlockActs& {
        return ws.slots[static_cast<size_t>(run.method == FG_METHOD_FGA ? k : k % 2)];
    };
    // Only local methods run a pipeline stage (a block range); the global ones always run every block.
    const int64_t first = local ? run.first : 0, last = local ? last_block(m, run) : blocks;
    const float* x = local ? run.input : nullptr;
    const float* x_tan = nullptr;  // the block input's tangents where they cross blocks (FG-A, FG-W)
    for (int64_t k = first; k < last; ++k) {
        BlockActs& a = slot(k);
        block_forward(m, run, k, x, local ? nullptr : x_tan, a);
        // Local methods take d (K,B,P,G) from the block's loss; heads always get their exact gradient.
        head_loss(m, run, k, m.blocks[static_cast<size_t>(k)].head, m.dims.G, block_feature(m, a),
                  local ? block_feature_tangents(m, a) : nullptr, local ? ws.d : nullptr, true, run.head_lr, nullptr);
        if (run.method == FG_METHOD_LGFGA) fga_block(m, run, k, x, a, false);
        if (run.method == FG_METHOD_LGFGW) {
            fgw_block_local(m, run, k);
            collect_sums(m, run, k, m.dims.G);
        }
        x = a.group.a;
        x_tan = a.out_tan;
    }
    if (local) {
        if (last == blocks) final_loss(m, run, x, nullptr, nullptr, run.last_lr, nullptr);
        return;
    }
    // Global: d (K,B,P,1) of the final loss.
    final_loss(m, run, x, x_tan, ws.d, run.last_lr, nullptr);
    if (activity) {
        for (int64_t k = 0; k < blocks; ++k)
            fga_block(m, run, k, k >= 1 ? slot(k - 1).group.a : nullptr, slot(k), true);
        return;
    }
    fgw_global(m, run);
    collect_sums(m, run, 0, 1);
}

int64_t fgw_sum_count(const fg_mixer& m, int32_t method, int64_t K) {
    return method == FG_METHOD_LGFGW ? m.dims.blocks * K * m.dims.G : K;
}

// The sums stand in for d as (K, 1 row, groups): fgw_grad's D_k(g) is then the given sum itself.
void fgw_from_sums(fg_mixer& m, const Run& run, const float* sums) {
    draw_weight_tangents(m, run);
    Run one_row = run;
    one_row.R = 1;
    const bool local = run.method == FG_METHOD_LGFGW;
    const int64_t groups = local ? m.dims.G : 1;
    for (int64_t k = 0; k < (local ? m.dims.blocks : 1); ++k) {
        m.context->be().upload(m.ws.d, sums + k * run.K * groups, static_cast<size_t>(run.K * groups) * sizeof(float));
        if (local) {
            fgw_block_local(m, one_row, k);
        } else {
            fgw_global(m, one_row);
        }
    }
}

}  // namespace fg::mixer
