// The fixed random feedback matrices of the feedback-alignment methods (METHOD.md section 4): for FA, L-FA
// and LG-FA one per weight, with its shape, standing in for it in the backward pass; for DFA one (C, N)
// matrix per layer that projects the output error onto that layer. Drawn on first use from the config seed
// and never trained.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "mixer.h"

namespace fg::mixer {

namespace {

constexpr uint32_t kTransposedTensorId = 0x30000u;
constexpr uint32_t kDirectTensorId = 0x38000u;

Param make(fg_mixer& m, const std::string& name, int32_t role, int32_t block, const std::vector<int64_t>& shape) {
    Param p;
    p.info.size = sizeof(fg_param_info);
    p.info.rank = static_cast<int32_t>(shape.size());
    p.info.elements = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
        p.info.shape[i] = shape[i];
        p.info.elements *= shape[i];
    }
    p.info.is_weight = 0;  // fixed: no gradient, no weight decay
    p.info.block = block;
    std::snprintf(p.info.name, sizeof p.info.name, "%s", name.c_str());
    p.role = role;
    p.value = fg::new_buffer(*m.context, static_cast<uint64_t>(p.info.elements) * sizeof(float));
    return p;
}

// N(0, s^2), s = min(2/sqrt(rows), 0.1), the weights' rule (rows: c for a (G, c, c) group weight).
void draw(fg_mixer& m, Param& p, uint32_t tensor_id) {
    Backend& be = m.context->be();
    const int64_t rows = p.info.rank == 3 ? p.info.shape[1] : p.info.shape[0];
    const float s = std::min(2.0f / std::sqrt(static_cast<float>(rows)), 0.1f);
    be.random_normal(p.w(), static_cast<uint64_t>(p.count()), m.config.seed, 0, tensor_id, 0);
    be.broadcast_mid(1, 1, p.count(), p.w(), s, p.w());
}

void build(fg_mixer& m, int32_t list, std::vector<Param>& out) {
    const Dims& d = m.dims;
    if (list == kTransposedFeedback) {
        m.feedback_of_param.assign(m.params.size(), -1);
        for (size_t i = 0; i < m.params.size(); ++i) {
            const Param& w = m.params[i];
            if (!w.info.is_weight) continue;
            m.feedback_of_param[i] = static_cast<int32_t>(out.size());
            out.push_back(make(m, std::string("feedback.") + w.info.name, w.role, w.info.block,
                               std::vector<int64_t>(w.info.shape, w.info.shape + w.info.rank)));
        }
    } else {
        static const char* layers[] = {"token", "channel", "group"};
        for (int64_t k = 0; k < d.blocks; ++k)
            for (int32_t layer = k == 0 ? kChannelLayer : kTokenLayer; layer <= kGroupLayer; ++layer)
                out.push_back(make(m, "direct_feedback.block" + std::to_string(k) + "." + layers[layer], kHead,
                                   static_cast<int32_t>(k), {d.C, d.N}));
    }
    const uint32_t base = list == kTransposedFeedback ? kTransposedTensorId : kDirectTensorId;
    for (size_t i = 0; i < out.size(); ++i) draw(m, out[i], base + static_cast<uint32_t>(i));
}

}  // namespace

int32_t feedback_list(int32_t method) {
    if (method == FG_METHOD_DFA) return kDirectFeedback;
    return is_feedback(method) ? kTransposedFeedback : -1;
}

std::vector<Param>& feedback(fg_mixer& m, int32_t list) {
    std::vector<Param>& have = m.feedback[list];
    if (!have.empty()) return have;
    std::vector<Param> made;
    try {
        build(m, list, made);
    } catch (...) {
        for (Param& p : made) fg::free_buffer(p.value);
        throw;
    }
    have = std::move(made);
    return have;
}

const float* transposed_feedback(fg_mixer& m, int32_t param) {
    std::vector<Param>& list = feedback(m, kTransposedFeedback);
    return list[static_cast<size_t>(m.feedback_of_param[static_cast<size_t>(param)])].w();
}

const float* direct_feedback(fg_mixer& m, int64_t k, int32_t layer) {
    // block 0: channel, group; block k >= 1: token, channel, group
    const int64_t index = k == 0 ? layer - kChannelLayer : 2 + 3 * (k - 1) + layer;
    return feedback(m, kDirectFeedback)[static_cast<size_t>(index)].w();
}

}  // namespace fg::mixer
