// The feedback-alignment methods: their fixed random matrices (lists, names, shapes, seeding, errors), FA,
// L-FA and LG-FA reduce to BP, L-BP and LG-BP when every feedback matrix equals its weight, and LG-FA keeps
// LG-BP's stop-gradient between blocks where L-FA does not. DFA's oracle test is in test_mixer_gradients.cpp.
#include <cmath>

#include "test_mixer_util.h"

using namespace fgtest;

namespace {

// Sets every FA feedback matrix to the weight it stands in for (found by name).
void feedback_equal_to_weights(const Mixer& m) {
    for (int32_t f = 0; f < m.feedback_count(FG_METHOD_FA); ++f) {
        const std::string name = m.feedback_info(FG_METHOD_FA, f).name;
        bool found = false;
        for (int32_t i = 0; i < m.count(); ++i)
            if ("feedback." + std::string(m.info(i).name) == name) {
                m.set_feedback(FG_METHOD_FA, f, m.get(i));
                found = true;
            }
        ASSERT_TRUE(found) << name;
    }
}

}  // namespace

TEST(MixerFeedback, ListsNamesShapesAndSeeding) {
    Context c;
    const fg_mixer_config cfg = tiny_config(0, 0, 2);
    Mixer m(c, cfg), same(c, cfg);
    fg_mixer_config other_cfg = cfg;
    other_cfg.seed = cfg.seed + 1;
    Mixer other(c, other_cfg);
    ASSERT_NE(m.m, nullptr);
    EXPECT_EQ(m.feedback_count(FG_METHOD_BP), 0);
    EXPECT_EQ(m.feedback_count(FG_METHOD_LGFGA), 0);
    // one per weight: block0 channel, group, head; block1 token, channel, group, head; final
    for (int32_t method : {FG_METHOD_FA, FG_METHOD_LFA, FG_METHOD_LGFA}) EXPECT_EQ(m.feedback_count(method), 8);
    EXPECT_EQ(m.feedback_count(FG_METHOD_DFA), 5);
    int32_t f = 0;
    for (int32_t i = 0; i < m.count(); ++i) {
        const fg_param_info w = m.info(i);
        if (!w.is_weight) continue;
        const fg_param_info fb = m.feedback_info(FG_METHOD_LFA, f);
        EXPECT_EQ(std::string(fb.name), "feedback." + std::string(w.name));
        EXPECT_EQ(fb.rank, w.rank);
        for (int d = 0; d < w.rank; ++d) EXPECT_EQ(fb.shape[d], w.shape[d]) << fb.name;
        EXPECT_EQ(fb.is_weight, 0);
        EXPECT_EQ(fb.block, w.block);
        // N(0, s^2), s = min(2/sqrt(rows), 0.1): compare the sample std where there are enough elements
        const auto v = m.get_feedback(FG_METHOD_FA, f);
        EXPECT_EQ(v, same.get_feedback(FG_METHOD_FA, f)) << "same seed, same matrix: " << fb.name;
        EXPECT_NE(v, other.get_feedback(FG_METHOD_FA, f)) << "another seed, another matrix: " << fb.name;
        const double rows = double(w.rank == 3 ? w.shape[1] : w.shape[0]);
        const double s = std::min(2.0 / std::sqrt(rows), 0.1);
        double sq = 0;
        for (float x : v) sq += double(x) * x;
        if (v.size() >= 24) EXPECT_NEAR(std::sqrt(sq / v.size()), s, 0.35 * s) << fb.name;
        ++f;
    }
    const fg_param_info d = m.feedback_info(FG_METHOD_DFA, 2);
    EXPECT_EQ(std::string(d.name), "direct_feedback.block1.token");
    EXPECT_EQ(d.rank, 2);
    EXPECT_EQ(d.shape[0], 8);
    EXPECT_EQ(d.shape[1], 3);
    EXPECT_EQ(d.block, 1);
}

TEST(MixerFeedback, BadArgumentsAreRejectedAndMemoryIsReleased) {
    Context c;
    {
        Mixer m(c, tiny_config());
        ASSERT_NE(m.m, nullptr);
        Batch batch(c, m.cfg, 3, 1);
        fg_step_options o = step_options(FG_METHOD_BP);
        FG_ASSERT_OK(fg_mixer_gradients(m, 3, batch.img, batch.lab, &o, nullptr));
        const uint64_t before = c.live_bytes();
        for (int32_t method : {FG_METHOD_FA, FG_METHOD_DFA}) {
            o = step_options(method);
            FG_ASSERT_OK(fg_mixer_gradients(m, 3, batch.img, batch.lab, &o, nullptr));
        }
        EXPECT_GT(c.live_bytes(), before);  // the matrices were drawn on first use
        int32_t n = 0;
        fg_buffer* b = nullptr;
        fg_param_info info{};
        info.size = sizeof info;
        FG_EXPECT_STATUS(fg_mixer_feedback_count(m, 99, &n), FG_ERR_INVALID_ARGUMENT);
        EXPECT_TRUE(message_has("method (99) must be one of FG_METHOD_BP (0) .. FG_METHOD_DFA (10)"));
        FG_EXPECT_STATUS(fg_mixer_feedback_count(m, FG_METHOD_FA, nullptr), FG_ERR_INVALID_ARGUMENT);
        FG_EXPECT_STATUS(fg_mixer_feedback(m, FG_METHOD_BP, 0, &b), FG_ERR_INVALID_ARGUMENT);
        EXPECT_TRUE(message_has("BP has no feedback matrices"));
        FG_EXPECT_STATUS(fg_mixer_feedback(m, FG_METHOD_DFA, 5, &b), FG_ERR_INVALID_ARGUMENT);
        EXPECT_TRUE(message_has("index (5) is outside [0, 5)"));
        FG_EXPECT_STATUS(fg_mixer_feedback_info(m, FG_METHOD_FA, -1, &info), FG_ERR_INVALID_ARGUMENT);
        info.size = 4;
        FG_EXPECT_STATUS(fg_mixer_feedback_info(m, FG_METHOD_FA, 0, &info), FG_ERR_INVALID_ARGUMENT);
        EXPECT_TRUE(message_has("out_info->size"));
        FG_EXPECT_STATUS(fg_mixer_feedback(nullptr, FG_METHOD_FA, 0, &b), FG_ERR_INVALID_ARGUMENT);
    }
    // What stays is the context's shared scratch, as after a model that never drew feedback matrices.
    const uint64_t left = c.live_bytes();
    {
        Mixer m(c, tiny_config());
        Batch batch(c, m.cfg, 3, 1);
        fg_step_options o = step_options(FG_METHOD_BP);
        FG_ASSERT_OK(fg_mixer_gradients(m, 3, batch.img, batch.lab, &o, nullptr));
    }
    EXPECT_EQ(c.live_bytes(), left);
}

struct Pair {
    int32_t feedback, exact;
};

class MixerFeedbackEqualsWeights : public ::testing::TestWithParam<Pair> {};

// With every feedback matrix equal to its weight, the feedback-alignment step is the exact method's step; with
// the drawn matrices, the backbone's gradients differ and the heads' and the final classifier's do not.
TEST_P(MixerFeedbackEqualsWeights, StepEqualsTheExactMethod) {
    const Pair pr = GetParam();
    Context c;
    const fg_mixer_config cfg = tiny_config(1, 1, 2, 1);
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr);
    m.randomize(5);
    Batch b(c, cfg, 4, 3);
    fg_step_options exact = step_options(pr.exact), fa = step_options(pr.feedback);
    FG_ASSERT_OK(fg_mixer_gradients(m, 4, b.img, b.lab, &exact, nullptr));
    const auto want = m.grads();
    FG_ASSERT_OK(fg_mixer_gradients(m, 4, b.img, b.lab, &fa, nullptr));
    const auto drawn = m.grads();
    feedback_equal_to_weights(m);
    FG_ASSERT_OK(fg_mixer_gradients(m, 4, b.img, b.lab, &fa, nullptr));
    const auto got = m.grads();
    for (int32_t i = 0; i < m.count(); ++i) {
        const fg_param_info p = m.info(i);
        double scale = 0;
        for (float x : want[i]) scale = std::max(scale, double(std::fabs(x)));
        EXPECT_TRUE(all_close(got[i], want[i], 1e-6, 1e-7 * (1 + scale), p.name));
        const std::string name = p.name;
        // the token bias's gradient is rounding noise (the LN over C removes a shift of every channel)
        if (name.find("token.bias") != std::string::npos) continue;
        const bool exact_anyway = name.find("head") != std::string::npos || p.block < 0;
        if (!exact_anyway)
            EXPECT_FALSE(all_close(drawn[i], want[i], 1e-3, 1e-6 * (1 + scale))) << name << " ignores the feedback";
        else
            EXPECT_TRUE(all_close(drawn[i], want[i], 1e-6, 1e-7 * (1 + scale), name));
    }
}

INSTANTIATE_TEST_SUITE_P(Methods, MixerFeedbackEqualsWeights,
                         ::testing::Values(Pair{FG_METHOD_FA, FG_METHOD_BP}, Pair{FG_METHOD_LFA, FG_METHOD_LBP},
                                           Pair{FG_METHOD_LGFA, FG_METHOD_LGBP}),
                         [](const auto& info) {
                             return std::string(info.param.feedback == FG_METHOD_FA    ? "FA"
                                                : info.param.feedback == FG_METHOD_LFA ? "LFA"
                                                                                       : "LGFA");
                         });

// LG-FA detaches every block's input, so block 0's update ignores the feedback matrices of block 1 and of the
// final classifier; L-FA backpropagates block 1's loss into block 0 through block 1's feedback matrices.
TEST(MixerFeedback, LocalGreedyStopsAtTheBlockInput) {
    Context c;
    const fg_mixer_config cfg = tiny_config(0, 0, 2);
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr);
    m.randomize(9);
    Batch b(c, cfg, 4, 6);
    auto block0 = [&](int32_t method) {
        fg_step_options o = step_options(method);
        fg_mixer_gradients(m, 4, b.img, b.lab, &o, nullptr);
        std::vector<float> all;
        for (int32_t i = 0; i < m.count(); ++i)
            if (m.info(i).block == 0) {
                auto g = m.get(i, true);
                all.insert(all.end(), g.begin(), g.end());
            }
        return all;
    };
    const auto lg = block0(FG_METHOD_LGFA), l = block0(FG_METHOD_LFA);
    for (int32_t f = 0; f < m.feedback_count(FG_METHOD_FA); ++f) {
        const fg_param_info info = m.feedback_info(FG_METHOD_FA, f);
        if (info.block == 0) continue;
        auto v = m.get_feedback(FG_METHOD_FA, f);
        for (float& x : v) x = -2.0f * x + 0.05f;
        m.set_feedback(FG_METHOD_FA, f, v);
    }
    EXPECT_TRUE(all_close(block0(FG_METHOD_LGFA), lg, 0, 0, "LG-FA block 0"));
    EXPECT_FALSE(all_close(block0(FG_METHOD_LFA), l, 1e-3, 1e-7)) << "L-FA block 0 should see block 1's feedback";
}
