// The CPU's fused layer tails (native/src/cpu/layer_tail.cpp: LN, its JVP, the activity noise drawn where it
// is used, the perturbed ReLU; the noise drawn again, the FG-A scaling, the LN VJP; the ReLU's and the LN's
// backward) against the same steps run as separate primitives (FG_CPU_FUSED=0, the composition every other
// backend runs): every method's gradients and losses must agree bit for bit. Widths that do not divide the
// noise stream's 2048-value chunks, and per-group LNs, take the kernels' block edges.
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "test_mixer_util.h"

namespace {
using namespace fgtest;

struct TailCase {
    const char* name;
    fg_mixer_config cfg;
    int64_t batch;
};

TEST(FusedLayerTails, EveryMethodMatchesTheSeparatePrimitives) {
    fg_mixer_config ln = mixer_config(16, 16, 3, 10, 2, 4, 96, 4);
    ln.pre_linear_ln = 1;
    ln.inter_ln = 1;
    const TailCase cases[] = {
        {"C=128, G=4", mixer_config(16, 16, 3, 10, 2, 4, 128, 4), 24},
        {"C=96, G=4, pre and inter LN", ln, 10},
        {"C=40, G=8, 3 blocks, 7 images", mixer_config(12, 12, 1, 5, 3, 3, 40, 8), 7},
    };
    // The reference: separate primitives, noise drawn again. Against it: fused tails drawing again, fused tails
    // keeping LG-FG-A's noise, fused tails keeping one layer's and drawing the others' again (1 MB holds one
    // layer's noise of the first case at K = 3, every layer's at K = 1), separate primitives keeping it.
    auto reference = cpu_context_with_env({{"FG_CPU_FUSED", "0"}, {"FG_KEEP_NOISE_MB", "0"}});
    ASSERT_NE(reference->ctx, nullptr) << fg_last_error();
    struct Variant {
        const char* name;
        std::unique_ptr<Context> ctx;
    };
    Variant variants[] = {
        {"fused, drawn again", cpu_context_with_env({{"FG_CPU_FUSED", "1"}, {"FG_KEEP_NOISE_MB", "0"}})},
        {"fused, kept", cpu_context_with_env({{"FG_CPU_FUSED", "1"}, {"FG_KEEP_NOISE_MB", "64"}})},
        {"fused, partly kept", cpu_context_with_env({{"FG_CPU_FUSED", "1"}, {"FG_KEEP_NOISE_MB", "1"}})},
        {"separate, kept", cpu_context_with_env({{"FG_CPU_FUSED", "0"}, {"FG_KEEP_NOISE_MB", "64"}})},
    };
    for (const TailCase& tc : cases) {
        Mixer ms(*reference, tc.cfg);
        ASSERT_NE(ms.m, nullptr) << fg_last_error();
        Batch bs(*reference, tc.cfg, tc.batch, 5);
        for (Variant& v : variants) {
            ASSERT_NE(v.ctx->ctx, nullptr) << fg_last_error();
            Mixer mf(*v.ctx, tc.cfg);
            ASSERT_NE(mf.m, nullptr) << fg_last_error();
            // Both models take the same parameters, every one moved off its initial value: the biases start
            // at zero, and the fused tails add them themselves.
            for (int32_t i = 0; i < ms.count(); ++i) {
                std::vector<float> p = ms.get(i);
                for (size_t j = 0; j < p.size(); ++j) p[j] += 0.05f * std::sin(0.7f * float(j) + 1.3f * float(i));
                ms.set(i, p);
                mf.set(i, p);
            }
            Batch bf(*v.ctx, tc.cfg, tc.batch, 5);
            // Every forward-gradient method at K = 1 and 3; every backprop-structured method (the backward
            // tail: the ReLU's and the LN's VJP in one pass), where K does not apply.
            std::vector<std::pair<int32_t, int32_t>> runs;
            for (int32_t method : {FG_METHOD_FGW, FG_METHOD_FGA, FG_METHOD_LGFGW, FG_METHOD_LGFGA})
                for (int32_t tangents : {1, 3}) runs.emplace_back(method, tangents);
            for (int32_t method : {FG_METHOD_BP, FG_METHOD_LBP, FG_METHOD_LGBP, FG_METHOD_FA, FG_METHOD_LFA,
                                   FG_METHOD_LGFA, FG_METHOD_DFA})
                runs.emplace_back(method, 1);
            for (const auto& [method, tangents] : runs) {
                const fg_step_options o = step_options(method, tangents, 2);
                fg_step_stats sf{}, ss{};
                sf.size = ss.size = sizeof(fg_step_stats);
                FG_ASSERT_OK(fg_mixer_gradients(mf, tc.batch, bf.img, bf.lab, &o, &sf));
                FG_ASSERT_OK(fg_mixer_gradients(ms, tc.batch, bs.img, bs.lab, &o, &ss));
                const std::string label = std::string(tc.name) + ", " + v.name + ", method " +
                                          std::to_string(method) + ", K=" + std::to_string(tangents);
                EXPECT_EQ(std::memcmp(&sf.loss, &ss.loss, sizeof(float)), 0) << label;
                for (int32_t i = 0; i < mf.count(); ++i)
                    EXPECT_TRUE(bit_identical(mf.get(i, true), ms.get(i, true), label + ", " + mf.info(i).name));
            }
        }
    }
}

// Drawing the noise again, the fused path needs no noise buffer: the same step needs less workspace than the
// separate primitives. Keeping LG-FG-A's noise costs one (K, R, C) buffer per kept layer of a block: as many
// layers as the budget holds.
TEST(FusedLayerTails, DrawTheNoiseWithoutABuffer) {
    const fg_mixer_config cfg = mixer_config(16, 16, 3, 10, 2, 4, 128, 4);
    auto fused = cpu_context_with_env({{"FG_CPU_FUSED", "1"}, {"FG_KEEP_NOISE_MB", "0"}});
    auto separate = cpu_context_with_env({{"FG_CPU_FUSED", "0"}, {"FG_KEEP_NOISE_MB", "0"}});
    auto keeping = cpu_context_with_env({{"FG_CPU_FUSED", "1"}, {"FG_KEEP_NOISE_MB", "64"}});
    Mixer mk(*keeping, cfg);
    ASSERT_NE(mk.m, nullptr) << fg_last_error();
    uint64_t bk = 0;
    FG_ASSERT_OK(fg_mixer_workspace_bytes(mk, FG_METHOD_LGFGA, 4, 32, &bk));
    Mixer mf(*fused, cfg), ms(*separate, cfg);
    ASSERT_NE(mf.m, nullptr) << fg_last_error();
    ASSERT_NE(ms.m, nullptr) << fg_last_error();
    uint64_t bf = 0, bs = 0;
    FG_ASSERT_OK(fg_mixer_workspace_bytes(mf, FG_METHOD_LGFGA, 4, 32, &bf));
    FG_ASSERT_OK(fg_mixer_workspace_bytes(ms, FG_METHOD_LGFGA, 4, 32, &bs));
    EXPECT_EQ(bs - bf, 4u * 32 * 16 * 128 * sizeof(float));      // K x R x C floats
    EXPECT_EQ(bk - bf, 3u * 4 * 32 * 16 * 128 * sizeof(float));  // one per layer of the block
    // A budget of 1 MB holds exactly one layer's 4 x 512 x 128 floats.
    auto one_layer = cpu_context_with_env({{"FG_CPU_FUSED", "1"}, {"FG_KEEP_NOISE_MB", "1"}});
    Mixer m1(*one_layer, cfg);
    ASSERT_NE(m1.m, nullptr) << fg_last_error();
    uint64_t b1 = 0;
    FG_ASSERT_OK(fg_mixer_workspace_bytes(m1, FG_METHOD_LGFGA, 4, 32, &b1));
    EXPECT_EQ(b1 - bf, 1u * 4 * 32 * 16 * 128 * sizeof(float));
    // FG-A would keep every block's noise: it always draws again.
    uint64_t gk = 0, gf = 0;
    FG_ASSERT_OK(fg_mixer_workspace_bytes(mk, FG_METHOD_FGA, 4, 32, &gk));
    Mixer mf2(*fused, cfg);
    ASSERT_NE(mf2.m, nullptr) << fg_last_error();
    FG_ASSERT_OK(fg_mixer_workspace_bytes(mf2, FG_METHOD_FGA, 4, 32, &gf));
    EXPECT_EQ(gk, gf);
}

}  // namespace
