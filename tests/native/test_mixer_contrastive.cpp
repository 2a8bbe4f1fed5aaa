// The LocalMixer with contrastive local losses: head shapes, the steps it refuses with a message, and
// training that lowers the contrastive block losses, view 2 without tangents in LG-FG-A, and CUDA against CPU.
// Its gradients are checked in test_mixer_gradients.cpp
// (finite differences for the backprop family, LG-FG-A's mean estimate against LG-BP).
#include <algorithm>

#include "test_mixer_util.h"

using namespace fgtest;

namespace {

fg_mixer_config contrastive_config() {
    fg_mixer_config cfg = tiny_config();
    cfg.local_loss = FG_LOSS_CONTRASTIVE;
    return cfg;
}

std::string method_name(int32_t method) {
    return method == FG_METHOD_BP ? "BP" : method == FG_METHOD_LBP ? "LBP" : method == FG_METHOD_LGBP ? "LGBP" : "LGFGA";
}

void expect_error(fg_status st, const std::string& needle) {
    EXPECT_EQ(st, FG_ERR_INVALID_ARGUMENT) << fg_status_string(st);
    EXPECT_NE(std::string(fg_last_error()).find(needle), std::string::npos) << fg_last_error();
}

}  // namespace

TEST(MixerContrastive, HeadsAreProjectionsAndTheFinalClassifierKeepsTheClasses) {
    Context c;
    Mixer m(c, contrastive_config());
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    int heads = 0;
    for (int32_t i = 0; i < m.count(); ++i) {
        const fg_param_info p = m.info(i);
        const std::string name = p.name;
        if (name.find("head.weight") != std::string::npos) {
            ++heads;
            EXPECT_EQ(p.shape[0], 8);
            EXPECT_EQ(p.shape[1], FG_CONTRASTIVE_DIM) << name;
        }
        if (name == "final.weight") EXPECT_EQ(p.shape[1], 3);
    }
    EXPECT_EQ(heads, 2);
}

TEST(MixerContrastive, RefusesWhatItCannotTrainWithAMessage) {
    Context c;
    fg_mixer_config bad = contrastive_config();
    bad.local_loss = 2;
    fg_mixer* none = nullptr;
    expect_error(fg_mixer_create(c, &bad, &none), "config->local_loss (2) must be FG_LOSS_CROSS_ENTROPY (0) or "
                                                  "FG_LOSS_CONTRASTIVE (1)");
    EXPECT_EQ(none, nullptr);
    const fg_mixer_config cfg = contrastive_config();
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr);
    Batch odd(c, cfg, 3, 1), even(c, cfg, 4, 1);
    for (int32_t method : {FG_METHOD_FGW, FG_METHOD_FGA, FG_METHOD_LGFGW}) {
        fg_step_options o = step_options(method, 2);
        expect_error(fg_mixer_gradients(m, 4, even.img, even.lab, &o, nullptr),
                     "does not train the contrastive local loss: use FG_METHOD_LGFGA or a backprop method");
    }
    fg_step_options o = step_options(FG_METHOD_LGFGA, 2);
    expect_error(fg_mixer_gradients(m, 3, odd.img, odd.lab, &o, nullptr),
                 "batch (3) must be even with the contrastive loss");
    o.global_batch = 8;  // a data-parallel shard: its views would be split across ranks
    expect_error(fg_mixer_gradients(m, 4, even.img, even.lab, &o, nullptr),
                 "options->global_batch (a shard of a larger batch) does not apply to the contrastive loss");
    o.global_batch = 4;  // the whole batch as its own shard is the plain step
    FG_ASSERT_OK(fg_mixer_gradients(m, 4, even.img, even.lab, &o, nullptr));
    o.global_batch = 0;
    FG_ASSERT_OK(fg_mixer_gradients(m, 4, even.img, even.lab, &o, nullptr));
}

class MixerContrastiveTraining : public ::testing::TestWithParam<int32_t> {};

// Two views of each image: the image plus small independent noise. Plain SGD on the contrastive
// losses must pull each image's views together against the other images.
TEST_P(MixerContrastiveTraining, SgdStepsLowerTheBlockLosses) {
    const int32_t method = GetParam();
    Context c;
    fg_mixer_config cfg = contrastive_config();
    cfg.channels = 16;
    cfg.groups = 4;
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr);
    const int64_t pairs = 12, pixels = 16;
    const auto base = random_vector(pairs * pixels, 5, 1.0f);
    const auto noise = random_vector(2 * pairs * pixels, 6, 0.1f);
    std::vector<float> images(2 * pairs * pixels);
    for (int64_t i = 0; i < 2 * pairs * pixels; ++i) images[i] = base[i % (pairs * pixels)] + noise[i];
    std::vector<int32_t> labels(2 * pairs);
    for (int64_t n = 0; n < 2 * pairs; ++n) labels[n] = static_cast<int32_t>(n % 3);
    Buffer img(c, images), lab(c, labels);
    fg_step_stats st{};
    st.size = sizeof st;
    float first[2] = {};
    for (uint32_t step = 0; step < 40; ++step) {
        fg_step_options o = step_options(method, 8, step);
        FG_ASSERT_OK(fg_mixer_gradients(m, 2 * pairs, img, lab, &o, &st));
        if (step == 0) first[0] = st.block_loss[0], first[1] = st.block_loss[1];
        for (int32_t i = 0; i < m.count(); ++i) {
            auto p = m.get(i);
            auto g = m.get(i, true);
            for (size_t j = 0; j < p.size(); ++j) p[j] -= 0.2f * g[j];
            m.set(i, p);
        }
    }
    fg_step_options last = step_options(method, 8, 99);
    FG_ASSERT_OK(fg_mixer_gradients(m, 2 * pairs, img, lab, &last, &st));
    EXPECT_LT(st.block_loss[0], 0.85f * first[0]) << st.block_loss[0] << " " << first[0];
    EXPECT_LT(st.block_loss[1], 0.85f * first[1]) << st.block_loss[1] << " " << first[1];
}

INSTANTIATE_TEST_SUITE_P(Methods, MixerContrastiveTraining,
                         ::testing::Values(FG_METHOD_BP, FG_METHOD_LBP, FG_METHOD_LGBP, FG_METHOD_LGFGA),
                         [](const auto& info) { return method_name(info.param); });

// View 2 is under stop-gradient, so LG-FG-A runs it primal-only: the K stacked tangents (and the activity noise)
// cover view 1's rows alone. What K adds to the workspace of a contrastive batch of 2n images is what it adds
// for n images with the cross-entropy loss (every row carrying tangents), half what it adds for 2n; the step
// reports that size, later steps allocate nothing, and freeing the models returns every byte (a second round
// ends where the first did: only the context's shared scratch stays).
TEST(MixerContrastive, LocalActivityCarriesTangentsOnViewOneOnly) {
    Context c;
    const fg_mixer_config cfg = contrastive_config();
    fg_mixer_config xent = cfg;
    xent.local_loss = FG_LOSS_CROSS_ENTROPY;
    // One round: the models, the workspace queries and two steps; the models are freed at its end.
    auto round = [&] {
        Mixer m(c, cfg), x(c, xent);
        ASSERT_NE(m.m, nullptr) << fg_last_error();
        ASSERT_NE(x.m, nullptr) << fg_last_error();
        auto bytes = [](fg_mixer* model, int32_t tangents, int64_t batch) {
            uint64_t b = 0;
            EXPECT_EQ(fg_mixer_workspace_bytes(model, FG_METHOD_LGFGA, tangents, batch, &b), FG_OK) << fg_last_error();
            return static_cast<int64_t>(b);
        };
        const int64_t pairs = 8;
        const int64_t per_k = (bytes(m, 5, 2 * pairs) - bytes(m, 1, 2 * pairs)) / 4;
        EXPECT_GT(per_k, 0);
        EXPECT_EQ(per_k, (bytes(x, 5, pairs) - bytes(x, 1, pairs)) / 4);
        EXPECT_EQ(2 * per_k, (bytes(x, 5, 2 * pairs) - bytes(x, 1, 2 * pairs)) / 4);
        // the primal activations still cover both views: the backprop method's workspace does not shrink
        uint64_t lgbp_c = 0, lgbp_x = 0;
        FG_ASSERT_OK(fg_mixer_workspace_bytes(m, FG_METHOD_LGBP, 0, 2 * pairs, &lgbp_c));
        FG_ASSERT_OK(fg_mixer_workspace_bytes(x, FG_METHOD_LGBP, 0, 2 * pairs, &lgbp_x));
        EXPECT_EQ(lgbp_c, lgbp_x);

        Batch b(c, cfg, 2 * pairs, 4);
        fg_step_stats st{};
        st.size = sizeof st;
        fg_step_options o = step_options(FG_METHOD_LGFGA, 5);
        FG_ASSERT_OK(fg_mixer_gradients(m, 2 * pairs, b.img, b.lab, &o, &st));
        EXPECT_EQ(static_cast<int64_t>(st.workspace_bytes), bytes(m, 5, 2 * pairs));
        EXPECT_TRUE(std::isfinite(st.block_loss[0]) && std::isfinite(st.block_loss[1]));
        const uint64_t live = c.live_bytes();
        o.step = 1;
        FG_ASSERT_OK(fg_mixer_gradients(m, 2 * pairs, b.img, b.lab, &o, &st));
        EXPECT_EQ(c.live_bytes(), live);
    };
    round();
    const uint64_t after_first = c.live_bytes();
    round();
    EXPECT_EQ(c.live_bytes(), after_first);
}

// One LG-FG-A (K = 3) and one LG-BP contrastive step on the CUDA backend against the CPU backend from the same
// parameters and batch: same losses, same gradients (same Philox noise on both) up to float32 rounding.
TEST(MixerContrastive, CudaStepMatchesCpu) {
    FG_SKIP_IF_UNAVAILABLE(FG_BACKEND_CUDA);
    Context cpu(FG_BACKEND_CPU), gpu(FG_BACKEND_CUDA);
    ASSERT_NE(gpu.ctx, nullptr) << fg_last_error();
    fg_mixer_config cfg = contrastive_config();
    cfg.channels = 16, cfg.groups = 4, cfg.pre_linear_ln = 1, cfg.inter_ln = 1;
    {
        Mixer a(cpu, cfg), g(gpu, cfg);
        ASSERT_NE(a.m, nullptr) << fg_last_error();
        ASSERT_NE(g.m, nullptr) << fg_last_error();
        a.randomize(41);
        for (int32_t i = 0; i < a.count(); ++i) g.set(i, a.get(i));
        Batch ba(cpu, cfg, 12, 8), bg(gpu, cfg, 12, 8);
        for (int32_t method : {FG_METHOD_LGBP, FG_METHOD_LGFGA}) {
            fg_step_stats sa{}, sg{};
            sa.size = sg.size = sizeof sa;
            fg_step_options o = step_options(method, 3, 2);
            FG_ASSERT_OK(fg_mixer_gradients(a, 12, ba.img, ba.lab, &o, &sa));
            FG_ASSERT_OK(fg_mixer_gradients(g, 12, bg.img, bg.lab, &o, &sg));
            for (int k = 0; k < 2; ++k) EXPECT_NEAR(sg.block_loss[k], sa.block_loss[k], 1e-4 * (1 + sa.block_loss[k]));
            for (int32_t i = 0; i < a.count(); ++i) {
                const auto want = a.get(i, true), got = g.get(i, true);
                double scale = 0;
                for (float v : want) scale = std::max(scale, static_cast<double>(std::fabs(v)));
                EXPECT_TRUE(all_close(got, want, 1e-3, 1e-4 * (1 + scale), method_name(method) + " " + a.info(i).name));
            }
        }
    }
}
