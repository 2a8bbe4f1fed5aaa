// Weight perturbation in two halves (fg_mixer_fgw_sums, fg_mixer_fgw_apply): the gradients equal one
// fg_mixer_gradients step, and the share-weighted sums of two shards give the whole batch's gradients,
// which is what lets data-parallel ranks exchange only the sums.
#include <cmath>

#include "test_mixer_util.h"

using namespace fgtest;

namespace {

// `got` with the heads' and the final classifier's tensors taken from `want`: those are not perturbed.
std::vector<std::vector<float>> perturbed_only(const Mixer& m, std::vector<std::vector<float>> got,
                                               const std::vector<std::vector<float>>& want) {
    for (int32_t i = 0; i < m.count(); ++i) {
        const std::string name = m.info(i).name;
        if (name.find("head") != std::string::npos || name.rfind("final", 0) == 0) got[static_cast<size_t>(i)] = want[static_cast<size_t>(i)];
    }
    return got;
}

int64_t sum_count(const fg_mixer_config& c, int32_t method, int32_t tangents) {
    return method == FG_METHOD_LGFGW ? int64_t{c.blocks} * tangents * c.groups : tangents;
}

}  // namespace

TEST(MixerFgwSums, SumsThenApplyGiveTheGradientsOfOneStep) {
    Context c;
    for (int32_t method : {FG_METHOD_FGW, FG_METHOD_LGFGW})
        for (int32_t tangents : {1, 3}) {
            Mixer m(c, tiny_config(0, 1));
            ASSERT_NE(m.m, nullptr) << fg_last_error();
            m.randomize(3);
            Batch b(c, m.cfg, 5, 2);
            const fg_step_options o = step_options(method, tangents, 4);
            fg_step_stats whole{}, split{};
            whole.size = split.size = sizeof(fg_step_stats);
            FG_ASSERT_OK(fg_mixer_gradients(m, 5, b.img, b.lab, &o, &whole));
            const auto want = m.grads();
            std::vector<float> sums(static_cast<size_t>(sum_count(m.cfg, method, tangents)) + 3, -1.0f);
            FG_ASSERT_OK(fg_mixer_fgw_sums(m, 5, b.img, b.lab, &o, sums.data(), static_cast<int64_t>(sums.size()), &split));
            EXPECT_EQ(sums.back(), -1.0f) << "only the sums are written";
            // The step itself is fg_mixer_gradients': same stats and gradients, bit for bit.
            EXPECT_EQ(std::memcmp(&whole.loss, &split.loss, sizeof(float)), 0);
            for (int32_t i = 0; i < m.count(); ++i) EXPECT_TRUE(bit_identical(m.get(i, true), want[static_cast<size_t>(i)], m.info(i).name));
            // Another step's tangents in the buffers first, so only the apply can bring the gradients back.
            const fg_step_options other = step_options(method, tangents, 5);
            FG_ASSERT_OK(fg_mixer_gradients(m, 5, b.img, b.lab, &other, nullptr));
            EXPECT_FALSE(grads_close(perturbed_only(m, m.grads(), want), want, 1e-2, "scrambled"));
            FG_ASSERT_OK(fg_mixer_fgw_apply(m, &o, sums.data(), sum_count(m.cfg, method, tangents)));
            EXPECT_TRUE(grads_close(perturbed_only(m, m.grads(), want), want, 1e-5,
                              "method " + std::to_string(method) + " K=" + std::to_string(tangents)));
        }
}

TEST(MixerFgwSums, ShareWeightedSumsOfTwoShardsGiveTheWholeBatch) {
    Context c;
    for (int32_t method : {FG_METHOD_FGW, FG_METHOD_LGFGW}) {
        Mixer m(c, tiny_config());
        ASSERT_NE(m.m, nullptr) << fg_last_error();
        m.randomize(5);
        const int64_t batch = 6, first = 4;
        Batch b(c, m.cfg, batch, 9);
        const fg_step_options o = step_options(method, 2, 1);
        const int64_t count = sum_count(m.cfg, method, 2);
        FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &o, nullptr));
        const auto want = m.grads();
        std::vector<float> total(static_cast<size_t>(count), 0.0f), part(static_cast<size_t>(count));
        for (auto [start, size] : {std::pair<int64_t, int64_t>{0, first}, {first, batch - first}}) {
            const Batch shard = b.shard(c, start, size);
            FG_ASSERT_OK(fg_mixer_fgw_sums(m, size, shard.img, shard.lab, &o, part.data(), count, nullptr));
            for (size_t i = 0; i < part.size(); ++i) total[i] += part[i] * float(size) / float(batch);
        }
        FG_ASSERT_OK(fg_mixer_fgw_apply(m, &o, total.data(), count));
        // The perturbed parameters (every tensor but the heads and the final classifier) match the whole batch.
        EXPECT_TRUE(grads_close(perturbed_only(m, m.grads(), want), want, 1e-5, "method " + std::to_string(method)));
    }
}

TEST(MixerFgwSums, OtherMethodsAndWrongCountsAreRefusedWithMessages) {
    Context c;
    Mixer m(c, tiny_config());
    ASSERT_NE(m.m, nullptr);
    Batch b(c, m.cfg, 3, 1);
    std::vector<float> sums(64);
    fg_step_options o = step_options(FG_METHOD_LGFGA, 2);
    FG_EXPECT_STATUS(fg_mixer_fgw_sums(m, 3, b.img, b.lab, &o, sums.data(), 64, nullptr), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("weight perturbation only (FG-W, LG-FG-W)"), std::string::npos) << fg_last_error();
    FG_EXPECT_STATUS(fg_mixer_fgw_apply(m, &o, sums.data(), 8), FG_ERR_INVALID_ARGUMENT);
    o = step_options(FG_METHOD_LGFGW, 2);
    FG_EXPECT_STATUS(fg_mixer_fgw_sums(m, 3, b.img, b.lab, &o, sums.data(), 7, nullptr), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("capacity (7) is less than the 8 sums of LG-FG-W with K = 2"), std::string::npos)
        << fg_last_error();
    FG_EXPECT_STATUS(fg_mixer_fgw_apply(m, &o, sums.data(), 9), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("count (9) is not the 8 sums"), std::string::npos) << fg_last_error();
    FG_EXPECT_STATUS(fg_mixer_fgw_apply(m, &o, nullptr, 8), FG_ERR_INVALID_ARGUMENT);
}
