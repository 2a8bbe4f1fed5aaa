// The LocalMixer model API on small models with every parameter random (so no gradient is trivially
// zero): forward logits, one gradient step of every FG_METHOD_* and the cosine diagnostic. The float64
// model gives the logits and the losses a step reports; the gradients and cosines (dozens of chained
// ops, and for the forward-gradient methods a random estimate) are compared across backends, per tensor
// relative to their largest magnitude: rtol 1e-3, atol 1e-4 * (1 + max |g|).
#include <memory>

#include "cases_util.h"
#include "oracle.h"

namespace optable {

namespace {

const char* kMethods[] = {"BP", "LBP", "LGBP", "FGW", "FGA", "LGFGW", "LGFGA", "FA", "LFA", "LGFA", "DFA"};

struct Param {
    std::string name;
    int64_t elements;
};

// The model's parameter list, from a model on a CPU context (shapes only; values come from the case).
std::vector<Param> parameters(const fg_mixer_config& cfg) {
    std::vector<Param> out;
    fg_context_options o{};
    o.size = sizeof o;
    o.backend = FG_BACKEND_CPU;
    fg_context* ctx = nullptr;
    fg_mixer* m = nullptr;
    if (fg_context_create(&o, &ctx) == FG_OK && fg_mixer_create(ctx, &cfg, &m) == FG_OK) {
        int32_t count = 0;
        fg_mixer_param_count(m, &count, nullptr);
        for (int32_t i = 0; i < count; ++i) {
            fg_param_info info{};
            info.size = sizeof info;
            fg_mixer_param_info(m, i, &info);
            out.push_back({info.name, info.elements});
        }
    }
    fg_mixer_free(m);
    fg_context_free(ctx);
    return out;
}

enum class Call { forward, gradients, cosine };

struct Setup {
    fg_mixer_config cfg;
    int64_t batch;
    uint32_t seed;
};

std::string label(const Setup& s) {
    const fg_mixer_config& c = s.cfg;
    return dims({c.image_height, c.image_width, c.image_channels}) + " blocks" + std::to_string(c.blocks) + " grid" +
           std::to_string(c.grid) + " C" + std::to_string(c.channels) + " G" + std::to_string(c.groups) +
           (c.pre_linear_ln ? " preLN" : "") + (c.inter_ln ? " interLN" : "") + " B" + std::to_string(s.batch);
}

Case mixer_case(const Setup& s, Call what, int32_t method) {
    Case c;
    c.op = what == Call::forward ? "fg_mixer_forward" : what == Call::gradients ? "fg_mixer_gradients"
                                                                                : "fg_mixer_gradient_cosine";
    const int32_t K = what == Call::cosine ? 4 : 3;
    c.shape = (what == Call::forward ? "" : std::string(kMethods[method]) + " K" + std::to_string(K) + " ") + label(s);
    c.make = [=] {
        Problem p;
        const fg_mixer_config cfg = s.cfg;
        const std::vector<Param> params = parameters(cfg);
        const int32_t count = int32_t(params.size());
        std::vector<int> W, G;
        for (int32_t i = 0; i < count; ++i)
            W.push_back(p.input(params[size_t(i)].name, uniform(size_t(params[size_t(i)].elements), s.seed + 1000 + uint32_t(i), 0.5f)));
        std::vector<int32_t> labels(size_t(s.batch));
        for (int64_t n = 0; n < s.batch; ++n) labels[size_t(n)] = int32_t((n * 7 + s.seed) % uint32_t(cfg.classes));
        const int IMG = p.input("images", uniform(size_t(s.batch * cfg.image_height * cfg.image_width * cfg.image_channels), s.seed));
        const int LAB = p.input("labels", labels);
        const int OUT = what == Call::forward   ? p.output("logits", size_t(s.batch * cfg.classes))
                        : what == Call::cosine  ? p.output("cosine", size_t(count))
                                                : p.output("loss,block_loss", size_t(1 + cfg.blocks));
        if (what == Call::gradients)
            for (int32_t i = 0; i < count; ++i) G.push_back(p.output(params[size_t(i)].name + ".grad", size_t(params[size_t(i)].elements)));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            fg_mixer* m = nullptr;
            fg_status st = fg_mixer_create(ctx, &cfg, &m);
            for (int32_t i = 0; st == FG_OK && i < count; ++i) {
                fg_buffer *param = nullptr, *grad = nullptr;
                st = fg_mixer_param(m, i, &param, &grad);
                if (st == FG_OK) st = fg_buffer_copy(param, 0, b[W[size_t(i)]], 0, uint64_t(params[size_t(i)].elements) * 4);
            }
            fg_step_options o{};
            o.size = sizeof o, o.method = method, o.tangents = K, o.step = what == Call::cosine ? 5 : 2;
            o.seed = what == Call::cosine ? 3 : 11, o.head_lr = 1.0f, o.last_layer_lr = 0.1f;
            if (st == FG_OK && what == Call::forward) st = fg_mixer_forward(m, s.batch, b[IMG], b[OUT]);
            if (st == FG_OK && what == Call::cosine) {
                std::vector<float> cos(static_cast<size_t>(count));
                st = fg_mixer_gradient_cosine(m, s.batch, b[IMG], b[LAB], &o, cos.data(), count);
                if (st == FG_OK) st = fg_buffer_upload(b[OUT], 0, cos.data(), cos.size() * 4);
            }
            if (st == FG_OK && what == Call::gradients) {
                fg_step_stats stats{};
                stats.size = sizeof stats;
                st = fg_mixer_gradients(m, s.batch, b[IMG], b[LAB], &o, &stats);
                std::vector<float> losses = {stats.loss};
                for (int32_t k = 0; k < cfg.blocks; ++k) losses.push_back(stats.block_loss[k]);
                if (st == FG_OK) st = fg_buffer_upload(b[OUT], 0, losses.data(), losses.size() * 4);
                for (int32_t i = 0; st == FG_OK && i < count; ++i) {
                    fg_buffer *param = nullptr, *grad = nullptr;
                    st = fg_mixer_param(m, i, &param, &grad);
                    if (st == FG_OK) st = fg_buffer_copy(b[G[size_t(i)]], 0, grad, 0, uint64_t(params[size_t(i)].elements) * 4);
                }
            }
            fg_mixer_free(m);
            return st;
        };
        p.oracle = [=](const Problem& pr) {
            std::vector<oracle::Vec> w;
            for (int a : W) w.emplace_back(pr.f(a).begin(), pr.f(a).end());
            oracle::Vec blocks, logits;
            const double loss = oracle::Mixer(cfg).run(w, pr.f(IMG),
                                                       pr.arrays[size_t(LAB)].i, &blocks, &logits);
            std::vector<Expect> out;
            if (what == Call::forward) out.push_back({OUT, logits, {}, 1e-4, 1e-4});
            if (what == Call::cosine) out.push_back({OUT, {}, {}, 1e-3, 1e-3});
            if (what == Call::gradients) {
                oracle::Vec losses = {loss};
                losses.insert(losses.end(), blocks.begin(), blocks.end());
                out.push_back({OUT, losses, {}, 1e-4, 1e-4});
                for (int g : G) out.push_back({g, {}, {}, 1e-3, 1e-4, true});
            }
            return out;
        };
        return p;
    };
    return c;
}

}  // namespace

void add_mixer_cases(std::vector<Case>& t) {
    fg_mixer_config a{};
    a.size = sizeof a;
    a.image_height = 8, a.image_width = 8, a.image_channels = 3, a.classes = 5;
    a.blocks = 2, a.grid = 2, a.channels = 16, a.groups = 4, a.seed = 7;
    fg_mixer_config b = a;  // P = 16 patches, 3 blocks, both optional LayerNorms
    b.image_height = 16, b.image_width = 16, b.classes = 10;
    b.blocks = 3, b.grid = 4, b.channels = 32, b.groups = 8, b.pre_linear_ln = 1, b.inter_ln = 1;
    for (const Setup& s : {Setup{a, 6, 9}, Setup{b, 8, 21}}) {
        t.push_back(mixer_case(s, Call::forward, 0));
        for (int32_t method = FG_METHOD_BP; method <= FG_METHOD_DFA; ++method)
            t.push_back(mixer_case(s, Call::gradients, method));
        for (int32_t method : {FG_METHOD_FGW, FG_METHOD_LGFGA}) t.push_back(mixer_case(s, Call::cosine, method));
    }
}

}  // namespace optable
