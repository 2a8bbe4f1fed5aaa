// LocalMixer: config validation, the parameter list (names, shapes, order) and initialisation.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "mixer.h"
#include "ops.h"

namespace fg::mixer {

bool is_backprop(int32_t method) {
    return method == FG_METHOD_BP || method == FG_METHOD_LBP || method == FG_METHOD_LGBP || is_feedback(method);
}
bool is_feedback(int32_t method) {
    return method == FG_METHOD_FA || method == FG_METHOD_LFA || method == FG_METHOD_LGFA || method == FG_METHOD_DFA;
}
int32_t backprop_structure(int32_t method) {
    switch (method) {
        case FG_METHOD_FA: return FG_METHOD_BP;
        case FG_METHOD_LFA: return FG_METHOD_LBP;
        case FG_METHOD_LGFA: return FG_METHOD_LGBP;
        default: return method;
    }
}
int32_t exact_counterpart(int32_t method) {
    switch (method) {
        case FG_METHOD_LGFGA:
        case FG_METHOD_LGFGW: return FG_METHOD_LGBP;
        case FG_METHOD_FGA:
        case FG_METHOD_FGW:
        case FG_METHOD_DFA: return FG_METHOD_BP;
        default: return backprop_structure(method);
    }
}
bool is_activity(int32_t method) { return method == FG_METHOD_FGA || method == FG_METHOD_LGFGA; }
bool is_weight(int32_t method) { return method == FG_METHOD_FGW || method == FG_METHOD_LGFGW; }
bool is_local(int32_t method) {
    // FG-W keeps nothing for a backward pass either, so it also runs one block at a time.
    return method == kForwardOnly || backprop_structure(method) == FG_METHOD_LGBP || method == FG_METHOD_LGFGA ||
           method == FG_METHOD_LGFGW || method == FG_METHOD_FGW;
}

namespace {
std::string field(const char* name, int64_t value) { return std::string("config->") + name + " (" + std::to_string(value) + ")"; }
}  // namespace

Dims validate_config(const fg_mixer_config* cfg) {
    if (!cfg) invalid("config is NULL");
    if (cfg->size < sizeof(fg_mixer_config))
        invalid("config->size is " + std::to_string(cfg->size) + ", expected sizeof(fg_mixer_config) = " +
                std::to_string(sizeof(fg_mixer_config)));
    const std::pair<const char*, int32_t> sizes[] = {
        {"image_height", cfg->image_height}, {"image_width", cfg->image_width},
        {"image_channels", cfg->image_channels}, {"classes", cfg->classes},
        {"blocks", cfg->blocks}, {"grid", cfg->grid},
        {"channels", cfg->channels}, {"groups", cfg->groups}};
    for (const auto& [name, value] : sizes)
        if (value < 1) invalid(field(name, value) + " must be >= 1");
    if (cfg->blocks > FG_MAX_BLOCKS)
        invalid(field("blocks", cfg->blocks) + " must be <= FG_MAX_BLOCKS (" + std::to_string(FG_MAX_BLOCKS) + ")");
    if (cfg->image_height % cfg->grid != 0 || cfg->image_width % cfg->grid != 0)
        invalid(field("grid", cfg->grid) + " must divide image_height (" + std::to_string(cfg->image_height) +
                ") and image_width (" + std::to_string(cfg->image_width) + ")");
    if (cfg->channels % cfg->groups != 0)
        invalid(field("groups", cfg->groups) + " must divide channels (" + std::to_string(cfg->channels) + ")");
    if (cfg->pre_linear_ln != 0 && cfg->pre_linear_ln != 1)
        invalid(field("pre_linear_ln", cfg->pre_linear_ln) + " must be 0 or 1");
    if (cfg->inter_ln != 0 && cfg->inter_ln != 1) invalid(field("inter_ln", cfg->inter_ln) + " must be 0 or 1");
    if (cfg->final_ln != 0 && cfg->final_ln != 1) invalid(field("final_ln", cfg->final_ln) + " must be 0 or 1");
    if (cfg->local_loss != FG_LOSS_CROSS_ENTROPY && cfg->local_loss != FG_LOSS_CONTRASTIVE)
        invalid(field("local_loss", cfg->local_loss) +
                " must be FG_LOSS_CROSS_ENTROPY (0) or FG_LOSS_CONTRASTIVE (1)");
    Dims d;
    d.H = cfg->image_height, d.W = cfg->image_width, d.Cin = cfg->image_channels, d.N = cfg->classes;
    d.blocks = cfg->blocks, d.grid = cfg->grid, d.P = d.grid * d.grid;
    d.C = cfg->channels, d.G = cfg->groups, d.c = d.C / d.G;
    d.Din = (d.H / d.grid) * (d.W / d.grid) * d.Cin;
    d.pre_ln = cfg->pre_linear_ln != 0, d.inter_ln = cfg->inter_ln != 0, d.final_ln = cfg->final_ln != 0;
    d.contrastive = cfg->local_loss == FG_LOSS_CONTRASTIVE;
    d.head_out = d.contrastive ? FG_CONTRASTIVE_DIM : d.N;
    elements({d.P, d.P, d.C, d.Din, d.C});  // throws if the model cannot even be addressed
    return d;
}

namespace {

// Appends a parameter; returns its index.
int32_t add(fg_mixer& m, const std::string& name, int32_t role, int32_t block, bool weight,
            std::initializer_list<int64_t> shape) {
    Param p;
    p.info.size = sizeof(fg_param_info);
    p.info.rank = static_cast<int32_t>(shape.size());
    p.info.elements = 1;
    int i = 0;
    for (int64_t s : shape) {
        p.info.shape[i++] = s;
        p.info.elements *= s;
    }
    p.info.is_weight = weight ? 1 : 0;
    p.info.block = block;
    std::snprintf(p.info.name, sizeof p.info.name, "%s", name.c_str());
    p.role = role;
    m.params.push_back(p);
    Param& q = m.params.back();
    q.value = new_buffer(*m.context, static_cast<uint64_t>(q.info.elements) * sizeof(float));
    q.grad = new_buffer(*m.context, static_cast<uint64_t>(q.info.elements) * sizeof(float));
    return static_cast<int32_t>(m.params.size() - 1);
}

}  // namespace

void build_params(fg_mixer& m) {
    const Dims& d = m.dims;
    m.params.reserve(static_cast<size_t>(8 * d.blocks + 2));
    for (int64_t k = 0; k < d.blocks; ++k) {
        const std::string pre = "block" + std::to_string(k) + ".";
        const int32_t blk = static_cast<int32_t>(k);
        BlockParams bp;
        if (k >= 1) {
            bp.token = add(m, pre + "token.weight", kToken, blk, true, {d.P, d.P});
            add(m, pre + "token.bias", kToken, blk, false, {d.P});
        }
        bp.channel = add(m, pre + "channel.weight", kChannel, blk, true, {k == 0 ? d.Din : d.C, d.C});
        add(m, pre + "channel.bias", kChannel, blk, false, {d.C});
        bp.group = add(m, pre + "group.weight", kGroup, blk, true, {d.G, d.c, d.c});
        add(m, pre + "group.bias", kGroup, blk, false, {d.C});
        bp.head = add(m, pre + "head.weight", kHead, blk, true, {d.C, d.head_out});
        add(m, pre + "head.bias", kHead, blk, false, {d.head_out});
        m.blocks.push_back(bp);
    }
    m.final_w = add(m, "final.weight", kFinal, -1, true, {d.C, d.N});
    add(m, "final.bias", kFinal, -1, false, {d.N});
    m.backbone_elements = 0;
    for (const Param& p : m.params)
        if (p.role == kToken || p.role == kChannel || p.role == kGroup) m.backbone_elements += p.count();
}

// Weights N(0, s^2), s = min(2/sqrt(fan_in), 0.1), from Philox keyed by (config.seed, 0, index);
// biases and the final classifier 0.
void init_params(fg_mixer& m) {
    Backend& be = m.context->be();
    for (size_t i = 0; i < m.params.size(); ++i) {
        Param& p = m.params[i];
        const uint64_t n = static_cast<uint64_t>(p.count());
        be.fill(p.g(), n, 0.0f);
        if (!p.info.is_weight || p.role == kFinal) {
            be.fill(p.w(), n, 0.0f);
            continue;
        }
        // fan_in: the rows of a (fan_in, fan_out) matrix; the group weight is (G, c, c).
        const int64_t fan_in = p.info.rank == 3 ? p.info.shape[1] : p.info.shape[0];
        const float s = std::min(2.0f / std::sqrt(static_cast<float>(fan_in)), 0.1f);
        be.random_normal(p.g(), n, m.config.seed, 0, static_cast<uint32_t>(i), 0);
        ops::scale(*m.context, p.count(), s, p.g(), p.w());
        be.fill(p.g(), n, 0.0f);
    }
}

void scale_in_place(fg_context& c, float* x, int64_t count, float scale) {
    if (scale != 1.0f) ops::scale(c, count, scale, x, x);
}

}  // namespace fg::mixer

fg_mixer::~fg_mixer() {
    for (auto& p : params) {
        fg::free_buffer(p.value);
        fg::free_buffer(p.grad);
    }
    for (auto& list : feedback)
        for (auto& p : list) fg::free_buffer(p.value);
    if (ws_data) context->deallocate(ws_data, ws_capacity);
    if (context) fg::context_release(context);
}
