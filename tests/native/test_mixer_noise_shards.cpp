// Activity perturbation on shards of a global batch (fg_step_options::global_batch, global_first): each image's
// noise is drawn where the global batch draws it, so the share-weighted gradients of the shards add up to the
// global batch's gradient, which is what lets data-parallel FG-A / LG-FG-A ranks match one process. On the
// fused CPU layer tails and on the backend's default composition (separate noise draws, what CUDA runs).
#include <cmath>

#include "test_mixer_util.h"

using namespace fgtest;

namespace {

fg_step_options shard_options(int32_t method, int64_t global_batch, int64_t global_first) {
    fg_step_options o = step_options(method, 2, 3);
    o.global_batch = global_batch;
    o.global_first = global_first;
    return o;
}

// The share-weighted sum of the gradients of the shards [0, first) and [first, batch) of b.
std::vector<std::vector<float>> sum_of_shards(fg_context* ctx, const Mixer& m, const Batch& b, int32_t method, int64_t batch,
                                              int64_t first, bool keyed) {
    std::vector<std::vector<float>> total;
    for (auto [start, size] : {std::pair<int64_t, int64_t>{0, first}, {first, batch - first}}) {
        const Batch shard = b.shard(ctx, start, size);
        const fg_step_options o = keyed ? shard_options(method, batch, start) : shard_options(method, 0, 0);
        EXPECT_EQ(fg_mixer_gradients(m, size, shard.img, shard.lab, &o, nullptr), FG_OK) << fg_last_error();
        const auto g = m.grads();
        if (total.empty()) total.assign(g.size(), {});
        for (size_t t = 0; t < g.size(); ++t) {
            total[t].resize(g[t].size(), 0.0f);
            for (size_t i = 0; i < g[t].size(); ++i) total[t][i] += g[t][i] * float(size) / float(batch);
        }
    }
    return total;
}

void check_shards_add_up(fg_context* ctx, const std::string& label) {
    for (int32_t method : {FG_METHOD_FGA, FG_METHOD_LGFGA}) {
        Mixer m(ctx, tiny_config());
        ASSERT_NE(m.m, nullptr) << fg_last_error();
        m.randomize(7);
        const int64_t batch = 7, first = 3;
        Batch b(ctx, m.cfg, batch, 21);
        const fg_step_options whole = shard_options(method, 0, 0);
        FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &whole, nullptr));
        const auto want = m.grads();
        const std::string what = label + " method " + std::to_string(method);
        // up to float rounding: relative to each tensor's norm, or to 0.1 for the token biases, whose exact gradient is 0
        // (the LN over channels after them cancels a per-patch constant) and whose values are rounding noise
        EXPECT_LT(largest_relative_difference(sum_of_shards(ctx, m, b, method, batch, first, true), want, 0.1), 1e-5) << what;
        // Without the keying each shard draws the noise of its own positions: another estimate, far from this one.
        EXPECT_GT(largest_relative_difference(sum_of_shards(ctx, m, b, method, batch, first, false), want, 0.1), 1e-2) << what;
    }
}

TEST(MixerNoiseShards, ShardsOfAGlobalBatchAddUpToItsGradient) {
    Context fused;
    ASSERT_NE(fused.ctx, nullptr) << fg_last_error();
    check_shards_add_up(fused, "fused layer tails");
    auto composed = cpu_context_with_env("FG_CPU_FUSED", "0");
    ASSERT_NE(composed->ctx, nullptr) << fg_last_error();
    check_shards_add_up(*composed, "composed primitives");
}

// A "shard" that is the whole batch is the plain step, bit for bit.
TEST(MixerNoiseShards, TheWholeBatchAsItsOwnShardIsThePlainStep) {
    Context c;
    Mixer m(c, tiny_config());
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    m.randomize(3);
    Batch b(c, m.cfg, 5, 4);
    fg_step_options o = shard_options(FG_METHOD_LGFGA, 0, 0);
    FG_ASSERT_OK(fg_mixer_gradients(m, 5, b.img, b.lab, &o, nullptr));
    const auto want = m.grads();
    o = shard_options(FG_METHOD_LGFGA, 5, 0);
    FG_ASSERT_OK(fg_mixer_gradients(m, 5, b.img, b.lab, &o, nullptr));
    const auto got = m.grads();
    for (size_t t = 0; t < want.size(); ++t) EXPECT_TRUE(bit_identical(got[t], want[t], "tensor " + std::to_string(t)));
}

TEST(MixerNoiseShards, AShardOutsideItsGlobalBatchIsRefused) {
    Context c;
    {
        Mixer m(c, tiny_config());
        ASSERT_NE(m.m, nullptr) << fg_last_error();
        Batch b(c, m.cfg, 4, 1);
        for (auto [global, first] : {std::pair<int64_t, int64_t>{6, 3}, {3, 0}, {0, 2}, {-1, 0}, {8, -1}}) {
            const fg_step_options o = shard_options(FG_METHOD_LGFGA, global, first);
            FG_EXPECT_STATUS(fg_mixer_gradients(m, 4, b.img, b.lab, &o, nullptr), FG_ERR_INVALID_ARGUMENT);
            EXPECT_TRUE(message_has("must fit in options->global_batch")) << fg_last_error();
        }
    }
    EXPECT_EQ(c.live_bytes(), 0u);
}

}  // namespace
