// Parity of the LocalMixer model API: forward logits, one gradient step of every FG_METHOD_* and
// the cosine diagnostic, on small models with identical (random) parameters on both backends.
// A step chains dozens of ops, so gradients are judged per tensor relative to their largest
// magnitude: rtol 1e-3, atol 1e-4 * (1 + max|g|), as in the native mixer tests.
#include <algorithm>

#include "parity.h"

namespace parity {

namespace {

const char* kMethods[] = {"BP", "LBP", "LGBP", "FGW", "FGA", "LGFGW", "LGFGA"};

struct Model {
    fg_mixer* m[2] = {nullptr, nullptr};
    int32_t count = 0;
    ~Model() {
        fg_mixer_free(m[0]);
        fg_mixer_free(m[1]);
    }
    fg_buffer* buffer(int side, int32_t i, bool grad) const {
        fg_buffer *p = nullptr, *g = nullptr;
        fg_mixer_param(m[side], i, &p, &g);
        return grad ? g : p;
    }
    fg_param_info info(int32_t i) const {
        fg_param_info p{};
        p.size = sizeof p;
        fg_mixer_param_info(m[CPU], i, &p);
        return p;
    }
    std::vector<float> get(int side, int32_t i, bool grad) const {
        std::vector<float> v(static_cast<size_t>(info(i).elements), std::nanf(""));
        fg_buffer_download(buffer(side, i, grad), 0, v.data(), v.size() * 4);
        return v;
    }
};

void mixer_case(const Env& env, const fg_mixer_config& cfg, int64_t B, uint32_t seed) {
    const std::string label = dims({cfg.image_height, cfg.image_width, cfg.image_channels}) + " blocks" +
                              std::to_string(cfg.blocks) + " grid" + std::to_string(cfg.grid) + " C" +
                              std::to_string(cfg.channels) + " G" + std::to_string(cfg.groups) +
                              (cfg.pre_linear_ln ? " preLN" : "") + (cfg.inter_ln ? " interLN" : "") + " B" +
                              std::to_string(B);
    Model model;
    for (int s = 0; s < 2; ++s) {
        fg_status st = fg_mixer_create(env.ctx[s], &cfg, &model.m[s]);
        if (st != FG_OK) {
            Row r("fg_mixer_create", label);
            r.fail(std::string(s == CPU ? "cpu" : "cuda") + " -> " + fg_status_string(st) + ": " + fg_last_error());
            report(r);
            return;
        }
    }
    fg_mixer_param_count(model.m[CPU], &model.count, nullptr);
    // Every parameter random (final classifier and biases included), so no gradient is trivially 0.
    for (int32_t i = 0; i < model.count; ++i) {
        std::vector<float> v = uniform(static_cast<size_t>(model.info(i).elements), seed + 1000 + i, 0.5f);
        for (int s = 0; s < 2; ++s) fg_buffer_upload(model.buffer(s, i, false), 0, v.data(), v.size() * 4);
    }
    // images (B, H, W, C_in), labels (B)
    std::vector<int32_t> labels(B);
    for (int64_t n = 0; n < B; ++n) labels[n] = int32_t((n * 7 + seed) % cfg.classes);
    Twin images(env, uniform(B * cfg.image_height * cfg.image_width * cfg.image_channels, seed)), lab(env, labels),
        logits(env, B * cfg.classes * 4);

    Row f("fg_mixer_forward", label);
    if (f.run([&](int s) { return fg_mixer_forward(model.m[s], B, images[s], logits[s]); }))
        f.check("logits", logits, 1e-4, 1e-4);
    report(f);

    for (int32_t method = FG_METHOD_BP; method <= FG_METHOD_LGFGA; ++method) {
        fg_step_options o{};
        o.size = sizeof o, o.method = method, o.tangents = 3, o.step = 2, o.seed = 11, o.head_lr = 1.0f,
        o.last_layer_lr = 0.1f;
        for (int32_t i = 0; i < model.count; ++i)
            for (int s = 0; s < 2; ++s) fg_buffer_fill_f32(model.buffer(s, i, true), 0, model.info(i).elements, std::nanf(""));
        fg_step_stats st[2] = {};
        st[0].size = st[1].size = sizeof(fg_step_stats);
        Row r("fg_mixer_gradients", std::string(kMethods[method]) + " K3 " + label);
        if (r.run([&](int s) { return fg_mixer_gradients(model.m[s], B, images[s], lab[s], &o, &st[s]); })) {
            std::vector<float> lg = {st[GPU].loss}, lc = {st[CPU].loss};
            for (int32_t b = 0; b < std::min<int32_t>(st[CPU].blocks, FG_MAX_BLOCKS); ++b)
                lg.push_back(st[GPU].block_loss[b]), lc.push_back(st[CPU].block_loss[b]);
            r.check("loss,block_loss", lg, lc, 1e-4, 1e-4);
            for (int32_t i = 0; i < model.count; ++i) {
                std::vector<float> want = model.get(CPU, i, true);
                r.check(model.info(i).name, model.get(GPU, i, true), want, 1e-3, 1e-4 * (1.0 + max_abs(want)));
            }
        }
        report(r);
    }

    // Cosine of estimate vs exact gradient, per tensor, for one method of each family.
    for (int32_t method : {FG_METHOD_FGW, FG_METHOD_LGFGA}) {
        fg_step_options o{};
        o.size = sizeof o, o.method = method, o.tangents = 4, o.step = 5, o.seed = 3, o.head_lr = 1.0f,
        o.last_layer_lr = 0.1f;
        std::vector<float> cos[2];
        Row r("fg_mixer_gradient_cosine", std::string(kMethods[method]) + " K4 " + label);
        if (r.run([&](int s) {
                cos[s].assign(model.count, std::nanf(""));
                return fg_mixer_gradient_cosine(model.m[s], B, images[s], lab[s], &o, cos[s].data(), model.count);
            }))
            r.check("cosine", cos[GPU], cos[CPU], 1e-3, 1e-3);
        report(r);
    }
}

}  // namespace

void suite_mixer(const Env& env) {
    fg_mixer_config a{};
    a.size = sizeof a;
    a.image_height = 8, a.image_width = 8, a.image_channels = 3, a.classes = 5;
    a.blocks = 2, a.grid = 2, a.channels = 16, a.groups = 4, a.seed = 7;
    mixer_case(env, a, 6, 9);

    fg_mixer_config b = a;  // P = 16 patches, 3 blocks, both optional LayerNorms
    b.image_height = 16, b.image_width = 16, b.classes = 10;
    b.blocks = 3, b.grid = 4, b.channels = 32, b.groups = 8, b.pre_linear_ln = 1, b.inter_ln = 1;
    mixer_case(env, b, 8, 21);
}

}  // namespace parity
