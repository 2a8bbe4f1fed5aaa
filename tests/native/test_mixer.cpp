// LocalMixer API: presets' parameter counts, names and shapes, initialisation, validation,
// workspace behaviour, the cosine diagnostic, live bytes (CPU vs CUDA steps: the op table's mixer cases).
#include <cmath>

#include "test_mixer_util.h"

using namespace fgtest;

namespace {

int64_t total_params(fg_context* ctx, const fg_mixer_config& c, int32_t* tensors = nullptr) {
    Mixer m(ctx, c);
    if (!m.m) return -1;
    int32_t n = 0;
    int64_t e = 0;
    fg_mixer_param_count(m, &n, &e);
    if (tensors) *tensors = n;
    return e;
}

}  // namespace

TEST(Mixer, PresetParameterCounts) {
    Context c;
    int32_t tensors = 0;
    EXPECT_EQ(total_params(c, mixer_config(28, 28, 1, 10, 1, 1, 256, 1), &tensors), 271892);  // S/1/1
    EXPECT_EQ(tensors, 8);
    EXPECT_EQ(total_params(c, mixer_config(28, 28, 1, 10, 1, 1, 512, 16)), 429076);             // M/1/16
    EXPECT_EQ(total_params(c, mixer_config(32, 32, 3, 10, 4, 8, 512, 16), &tensors), 918770);   // M/8/16
    EXPECT_EQ(tensors, 4 * 8 - 2 + 2);
    EXPECT_EQ(total_params(c, mixer_config(32, 32, 3, 10, 4, 8, 2048, 64)), 13074674);          // L/8/64
    EXPECT_EQ(c.live_bytes(), 0u);
}

TEST(Mixer, ParameterNamesShapesAndOrder) {
    Context c;
    Mixer m(c, mixer_config(32, 32, 3, 10, 2, 8, 512, 16));
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    struct Want {
        const char* name;
        int32_t rank;
        int64_t s0, s1, s2;
        int32_t weight, block;
    };
    const Want want[] = {
        {"block0.channel.weight", 2, 48, 512, 0, 1, 0}, {"block0.channel.bias", 1, 512, 0, 0, 0, 0},
        {"block0.group.weight", 3, 16, 32, 32, 1, 0},   {"block0.group.bias", 1, 512, 0, 0, 0, 0},
        {"block0.head.weight", 2, 512, 10, 0, 1, 0},    {"block0.head.bias", 1, 10, 0, 0, 0, 0},
        {"block1.token.weight", 2, 64, 64, 0, 1, 1},    {"block1.token.bias", 1, 64, 0, 0, 0, 1},
        {"block1.channel.weight", 2, 512, 512, 0, 1, 1}, {"block1.channel.bias", 1, 512, 0, 0, 0, 1},
        {"block1.group.weight", 3, 16, 32, 32, 1, 1},   {"block1.group.bias", 1, 512, 0, 0, 0, 1},
        {"block1.head.weight", 2, 512, 10, 0, 1, 1},    {"block1.head.bias", 1, 10, 0, 0, 0, 1},
        {"final.weight", 2, 512, 10, 0, 1, -1},         {"final.bias", 1, 10, 0, 0, 0, -1}};
    ASSERT_EQ(m.count(), 16);
    for (int32_t i = 0; i < 16; ++i) {
        fg_param_info p = m.info(i);
        EXPECT_STREQ(p.name, want[i].name);
        EXPECT_EQ(p.rank, want[i].rank) << p.name;
        EXPECT_EQ(p.shape[0], want[i].s0) << p.name;
        if (p.rank > 1) EXPECT_EQ(p.shape[1], want[i].s1) << p.name;
        if (p.rank > 2) EXPECT_EQ(p.shape[2], want[i].s2) << p.name;
        EXPECT_EQ(p.is_weight, want[i].weight) << p.name;
        EXPECT_EQ(p.block, want[i].block) << p.name;
    }
    fg_param_info p{};
    p.size = sizeof p;
    FG_EXPECT_STATUS(fg_mixer_param_info(m, 16, &p), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("index (16)"));
}

TEST(Mixer, InitialisationScalesAndZeros) {
    Context c;
    Mixer m(c, mixer_config(32, 32, 3, 10, 2, 8, 512, 16, 123));
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    for (int32_t i = 0; i < m.count(); ++i) {
        fg_param_info p = m.info(i);
        auto v = m.get(i);
        double ss = 0;
        for (float x : v) ss += double(x) * x;
        const double sd = std::sqrt(ss / v.size());
        const std::string name = p.name;
        if (!p.is_weight || p.block < 0) {
            EXPECT_EQ(ss, 0.0) << name;
            continue;
        }
        const double fan_in = p.rank == 3 ? p.shape[1] : p.shape[0];
        const double s = std::min(2.0 / std::sqrt(fan_in), 0.1);
        EXPECT_NEAR(sd, s, 0.1 * s) << name;
        for (float g : m.get(i, true)) ASSERT_EQ(g, 0.0f) << name;
    }
    // Same seed, same numbers; another seed, others.
    Mixer same(c, mixer_config(32, 32, 3, 10, 2, 8, 512, 16, 123)), other(c, mixer_config(32, 32, 3, 10, 2, 8, 512, 16, 124));
    EXPECT_EQ(m.get(0), same.get(0));
    EXPECT_NE(m.get(0), other.get(0));
}

TEST(Mixer, InvalidConfigsAreRejectedWithMessages) {
    Context c;
    fg_mixer* m = reinterpret_cast<fg_mixer*>(0x1);
    FG_EXPECT_STATUS(fg_mixer_create(c, nullptr, &m), FG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(m, nullptr);
    EXPECT_TRUE(message_has("config is NULL"));
    auto reject = [&](fg_mixer_config cfg, const char* what) {
        fg_mixer* out = nullptr;
        FG_EXPECT_STATUS(fg_mixer_create(c, &cfg, &out), FG_ERR_INVALID_ARGUMENT);
        EXPECT_EQ(out, nullptr);
        EXPECT_TRUE(message_has(what)) << fg_last_error();
    };
    fg_mixer_config cfg = tiny_config();
    cfg.size = 8;
    reject(cfg, "config->size is 8");
    cfg = tiny_config();
    cfg.grid = 3;
    reject(cfg, "config->grid (3) must divide image_height (4)");
    cfg = tiny_config();
    cfg.groups = 3;
    reject(cfg, "config->groups (3) must divide channels (8)");
    cfg = tiny_config();
    cfg.blocks = FG_MAX_BLOCKS + 1;
    reject(cfg, "config->blocks (17) must be <= FG_MAX_BLOCKS");
    cfg = tiny_config();
    cfg.blocks = 0;
    reject(cfg, "config->blocks (0) must be >= 1");
    cfg = tiny_config();
    cfg.channels = -4;
    reject(cfg, "config->channels (-4) must be >= 1");
    cfg = tiny_config();
    cfg.classes = 0;
    reject(cfg, "config->classes (0)");
    cfg = tiny_config();
    cfg.inter_ln = 2;
    reject(cfg, "config->inter_ln (2) must be 0 or 1");
    cfg = tiny_config();
    cfg.final_ln = -1;
    reject(cfg, "config->final_ln (-1) must be 0 or 1");
    FG_EXPECT_STATUS(fg_mixer_create(nullptr, &cfg, &m), FG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(c.live_bytes(), 0u);
}

TEST(Mixer, InvalidStepArgumentsAreRejectedWithMessages) {
    Context c;
    Mixer m(c, tiny_config());
    ASSERT_NE(m.m, nullptr);
    Batch b(c, m.cfg, 3, 1);
    fg_step_stats st{};
    st.size = sizeof st;
    fg_step_options o = step_options(FG_METHOD_LGFGA, 0);
    FG_EXPECT_STATUS(fg_mixer_gradients(m, 3, b.img, b.lab, &o, &st), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("tangents (0) must be >= 1 for LG-FG-A"));
    o = step_options(99);
    FG_EXPECT_STATUS(fg_mixer_gradients(m, 3, b.img, b.lab, &o, &st), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("method (99)"));
    o = step_options(FG_METHOD_LGFGW, 2);
    o.channel_slices = 2;
    FG_EXPECT_STATUS(fg_mixer_gradients(m, 3, b.img, b.lab, &o, &st), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("options->channel_slices (2) must be FG_SLICES_SUM (0) or FG_SLICES_GROUP (1)"));
    o = step_options(FG_METHOD_BP);
    FG_EXPECT_STATUS(fg_mixer_gradients(m, 0, b.img, b.lab, &o, &st), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("batch must be >= 1"));
    FG_EXPECT_STATUS(fg_mixer_gradients(m, 4, b.img, b.lab, &o, &st), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("images is too small"));
    Buffer bad(c, std::vector<int32_t>{0, 3, 1});
    FG_EXPECT_STATUS(fg_mixer_gradients(m, 3, b.img, bad, &o, &st), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("labels[1] = 3 is outside [0, classes = 3)"));
    o.size = 4;
    FG_EXPECT_STATUS(fg_mixer_gradients(m, 3, b.img, b.lab, &o, &st), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("options->size"));
    o = step_options(FG_METHOD_BP);
    st.size = 4;
    FG_EXPECT_STATUS(fg_mixer_gradients(m, 3, b.img, b.lab, &o, &st), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("out_stats->size"));
    FG_EXPECT_STATUS(fg_mixer_gradients(nullptr, 3, b.img, b.lab, &o, nullptr), FG_ERR_INVALID_ARGUMENT);
    Buffer logits(c, 3 * 3 * 4 - 4);
    FG_EXPECT_STATUS(fg_mixer_forward(m, 3, b.img, logits), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("logits is too small"));
    FG_ASSERT_OK(fg_mixer_gradients(m, 3, b.img, b.lab, &o, nullptr));  // stats are optional
}

TEST(Mixer, FreeReleasesEverythingAndAcceptsNull) {
    EXPECT_EQ(fg_mixer_free(nullptr), FG_OK);
    Context c;
    {
        Mixer m(c, tiny_config());
        EXPECT_GT(c.live_bytes(), 0u);
    }
    EXPECT_EQ(c.live_bytes(), 0u);
    // After steps, what stays is only the context's own scratch (shared by all ops), the same
    // after one model as after two.
    uint64_t after[2] = {0, 0};
    for (uint64_t& left : after) {
        Mixer m(c, tiny_config(1, 1));
        ASSERT_NE(m.m, nullptr);
        Batch b(c, m.cfg, 5, 2);
        for (int32_t method = FG_METHOD_BP; method <= FG_METHOD_DFA; ++method) {
            fg_step_options o = step_options(method, 3);
            FG_ASSERT_OK(fg_mixer_gradients(m, 5, b.img, b.lab, &o, nullptr));
        }
        Buffer logits(c, 5 * 3 * 4);
        FG_ASSERT_OK(fg_mixer_forward(m, 5, b.img, logits));
        uint64_t ws = 0;
        FG_ASSERT_OK(fg_mixer_workspace_bytes(m, FG_METHOD_LGBP, 1, 5, &ws));
        m.~Mixer();
        m.m = nullptr;
        left = c.live_bytes();
        EXPECT_LT(left, ws);
    }
    EXPECT_EQ(after[0], after[1]);
    // The model keeps its context alive.
    fg_context_options co{sizeof co, FG_BACKEND_CPU, 0, 0, 1};
    fg_context* ctx = nullptr;
    FG_ASSERT_OK(fg_context_create(&co, &ctx));
    fg_mixer* m = nullptr;
    fg_mixer_config cfg = tiny_config();
    FG_ASSERT_OK(fg_mixer_create(ctx, &cfg, &m));
    FG_ASSERT_OK(fg_context_free(ctx));
    int32_t n = 0;
    FG_ASSERT_OK(fg_mixer_param_count(m, &n, nullptr));
    EXPECT_EQ(n, 16);
    FG_ASSERT_OK(fg_mixer_free(m));
}

TEST(Mixer, LocalWorkspaceDoesNotGrowWithDepthButBackpropDoes) {
    Context c;
    Mixer two(c, tiny_config(0, 0, 2)), eight(c, tiny_config(0, 0, 8));
    ASSERT_NE(two.m, nullptr);
    ASSERT_NE(eight.m, nullptr);
    auto bytes = [](fg_mixer* m, int32_t method, int32_t tangents = 4) {
        uint64_t b = 0;
        fg_mixer_workspace_bytes(m, method, tangents, 16, &b);
        return b;
    };
    EXPECT_EQ(bytes(two, FG_METHOD_LGFGA), bytes(eight, FG_METHOD_LGFGA));
    EXPECT_EQ(bytes(two, FG_METHOD_LGBP), bytes(eight, FG_METHOD_LGBP));
    EXPECT_GT(bytes(eight, FG_METHOD_BP), 3 * bytes(two, FG_METHOD_BP));
    // FG-A keeps per block exactly the primal activations BP keeps: its tangents never stay per block.
    EXPECT_GT(bytes(eight, FG_METHOD_FGA), bytes(two, FG_METHOD_FGA));
    EXPECT_EQ(bytes(eight, FG_METHOD_FGA) - bytes(two, FG_METHOD_FGA),
              bytes(eight, FG_METHOD_BP) - bytes(two, FG_METHOD_BP));
    // What K adds does not depend on the depth, for the local and the global activity method.
    EXPECT_EQ(bytes(eight, FG_METHOD_LGFGA, 4) - bytes(eight, FG_METHOD_LGFGA, 1),
              bytes(two, FG_METHOD_LGFGA, 4) - bytes(two, FG_METHOD_LGFGA, 1));
    EXPECT_EQ(bytes(eight, FG_METHOD_FGA, 4) - bytes(eight, FG_METHOD_FGA, 1),
              bytes(two, FG_METHOD_FGA, 4) - bytes(two, FG_METHOD_FGA, 1));
    // The step reports what the query said, and a steady-state step allocates nothing.
    Batch b(c, eight.cfg, 16, 3);
    fg_step_options o = step_options(FG_METHOD_LGFGA, 4);
    fg_step_stats st{};
    st.size = sizeof st;
    FG_ASSERT_OK(fg_mixer_gradients(eight, 16, b.img, b.lab, &o, &st));
    EXPECT_EQ(st.workspace_bytes, bytes(eight, FG_METHOD_LGFGA));
    EXPECT_EQ(st.blocks, 8);
    fg_context_properties p1{}, p2{};
    p1.size = p2.size = sizeof p1;
    FG_ASSERT_OK(fg_context_info(c, &p1));
    o.step = 1;
    FG_ASSERT_OK(fg_mixer_gradients(eight, 16, b.img, b.lab, &o, &st));
    FG_ASSERT_OK(fg_context_info(c, &p2));
    EXPECT_EQ(p1.live_bytes, p2.live_bytes);
    EXPECT_EQ(p1.peak_bytes, p2.peak_bytes);
    uint64_t q = 0;
    FG_EXPECT_STATUS(fg_mixer_workspace_bytes(eight, FG_METHOD_FGA, 0, 16, &q), FG_ERR_INVALID_ARGUMENT);
}

// The forward-gradient methods' memory at the paper's M/8/16 (32x32x3 images, 4 blocks, P = 64, C = 512,
// G = 16), batch 100: stacked tangents cost one layer's worth, so LG-FG-A at K = 1 needs no more than
// LG-BP, at K = 4 at most 1.3x, and global FG-A at K = 4 at most twice BP.
TEST(Mixer, ForwardGradientWorkspaceAtM8_16StaysNearBackprop) {
    Context c;
    Mixer m(c, mixer_config(32, 32, 3, 10, 4, 8, 512, 16));
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    auto bytes = [&](int32_t method, int32_t tangents) {
        uint64_t b = 0;
        EXPECT_EQ(fg_mixer_workspace_bytes(m, method, tangents, 100, &b), FG_OK) << fg_last_error();
        return static_cast<double>(b);
    };
    const double lgbp = bytes(FG_METHOD_LGBP, 1), bp = bytes(FG_METHOD_BP, 1);
    EXPECT_LE(bytes(FG_METHOD_LGFGA, 1), lgbp);
    EXPECT_LE(bytes(FG_METHOD_LGFGA, 4), 1.3 * lgbp);
    EXPECT_LE(bytes(FG_METHOD_FGA, 4), 2.0 * bp);
}

TEST(Mixer, StepStatsReportLossesAndAccuracy) {
    Context c;
    Mixer m(c, tiny_config());
    ASSERT_NE(m.m, nullptr);
    Batch b(c, m.cfg, 6, 4);
    fg_step_options o = step_options(FG_METHOD_LGBP);
    fg_step_stats st{};
    st.size = sizeof st;
    FG_ASSERT_OK(fg_mixer_gradients(m, 6, b.img, b.lab, &o, &st));
    // The final classifier starts at zero: uniform predictions.
    EXPECT_NEAR(st.loss, std::log(3.0f), 1e-5);
    EXPECT_EQ(st.blocks, 2);
    EXPECT_GT(st.block_loss[0], 0.0f);
    EXPECT_GT(st.block_loss[1], 0.0f);
    EXPECT_GE(st.accuracy, 0.0f);
    EXPECT_LE(st.accuracy, 1.0f);
}

TEST(Mixer, GradientCosine) {
    Context c;
    Mixer m(c, tiny_config());
    ASSERT_NE(m.m, nullptr);
    m.randomize(5);
    Batch b(c, m.cfg, 4, 6);
    const int32_t n = m.count();
    std::vector<float> cos(static_cast<size_t>(n), -2.0f);
    fg_step_options bp = step_options(FG_METHOD_BP);
    FG_ASSERT_OK(fg_mixer_gradient_cosine(m, 4, b.img, b.lab, &bp, cos.data(), n));
    for (float x : cos) EXPECT_EQ(x, 1.0f);
    fg_step_options o = step_options(FG_METHOD_LGFGA, 512, 3);
    FG_ASSERT_OK(fg_mixer_gradient_cosine(m, 4, b.img, b.lab, &o, cos.data(), n));
    auto estimate = m.grads();
    for (int32_t i = 0; i < n; ++i) {
        fg_param_info p = m.info(i);
        const std::string name = p.name;
        // The LN over C removes the token bias: its exact gradient is rounding noise.
        if (name.find("token.bias") != std::string::npos) continue;
        // Heads and the final classifier are exact in both; 512 tangents make the rest close.
        const bool exact = name.find("head") != std::string::npos || p.block < 0;
        EXPECT_GT(cos[static_cast<size_t>(i)], exact ? 0.9999f : 0.8f) << name;
    }
    // The buffers hold the estimate: the same step through fg_mixer_gradients gives the same numbers.
    FG_ASSERT_OK(fg_mixer_gradients(m, 4, b.img, b.lab, &o, nullptr));
    EXPECT_EQ(m.grads(), estimate);
    FG_EXPECT_STATUS(fg_mixer_gradient_cosine(m, 4, b.img, b.lab, &o, cos.data(), n - 1), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("capacity"));
}
