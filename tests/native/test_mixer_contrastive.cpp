// The LocalMixer with contrastive local losses: head shapes, the steps it refuses with a message, and
// training that lowers the contrastive block losses. Its gradients are checked in test_mixer_gradients.cpp
// (finite differences for the backprop family, LG-FG-A's mean estimate against LG-BP).
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
