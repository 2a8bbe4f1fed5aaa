// The step workspace: one allocation carved per method. Backprop (BP, L-BP) and global FG-A keep
// every block's activations until the end of the step; local methods (and FG-W, which keeps none)
// run one block at a time in two alternating slots, so their size does not depend on the depth.
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
    const uint64_t S = elements({K + 1, B, d.P});
    const uint64_t RC = R * d.C, SC = S * d.C;
    const bool act = is_activity(method), bp = is_backprop(method);
    const int64_t nslots = is_local(method) ? std::min<int64_t>(d.blocks, 2) : d.blocks;
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
    auto layer = [&](LayerActs& L, uint64_t in_floats, uint64_t z_rows) {
        if (d.pre_ln) {
            L.xn = cv.take(in_floats);
            L.xn_rstd = cv.take(R);
        }
        L.z = cv.take(RC);
        L.z_rstd = cv.take(z_rows);
        if (act) L.u = cv.take(static_cast<uint64_t>(K) * RC);
        L.a = cv.take(SC);
    };
    for (int64_t i = 0; i < nslots; ++i) {
        BlockActs& s = ws ? w.slots[static_cast<size_t>(i)] : unused;
        if (d.blocks > 1) layer(s.token, SC, R);
        layer(s.channel, std::max<uint64_t>(R * d.Din, SC), R);
        layer(s.group, SC, R * d.G);
        if (d.inter_ln) {
            s.on = cv.take(SC);
            s.on_rstd = cv.take(R);
        }
    }
    w.patches = cv.take(R * d.Din);
    w.h = cv.take(SC);
    w.ln_mean = cv.take(R * d.G);
    w.xbar = cv.take(elements({B, d.C}));
    w.loss = cv.take(B);
    w.logits = cv.take(elements({B, d.N}));
    w.means = cv.take(FG_MAX_BLOCKS + 1);
    w.d = cv.take(static_cast<uint64_t>(std::max<int64_t>(K, 1)) * R * d.G);
    if (bp || act) w.gA = cv.take(RC);
    if (bp) {
        w.gB = cv.take(RC);
        w.gC = cv.take(RC);
        w.gG = cv.take(RC);
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
