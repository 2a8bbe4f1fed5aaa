// Block pipeline stages (fg_mixer_stage_forward, fg_mixer_stage_gradients): the stages of a split of the blocks,
// chained on each other's outputs, give the whole step's gradients and statistics bit for bit for the local
// methods; the global methods and bad ranges are refused with messages.
#include <cmath>

#include "test_mixer_util.h"

using namespace fgtest;

namespace {

using Split = std::vector<std::pair<int32_t, int32_t>>;

void poison_gradients(const Mixer& m) {
    for (int32_t i = 0; i < m.count(); ++i)
        fg_buffer_fill_f32(m.buffer(i, true), 0, static_cast<uint64_t>(m.info(i).elements), std::nanf(""));
}

uint64_t activation_bytes(const fg_mixer_config& c, int64_t batch) {
    return static_cast<uint64_t>(batch) * c.grid * c.grid * c.channels * sizeof(float);
}

// Runs the stages of `split` in order, each on the previous one's output; the statistics of every stage merged
// as a pipeline merges them (block losses from their stage, final loss and accuracy from the last).
fg_step_stats run_stages(fg_context* ctx, const Mixer& m, const Batch& b, int64_t batch, const fg_step_options& o,
                         const Split& split) {
    fg_step_stats merged{};
    merged.size = sizeof merged;
    Buffer input;
    for (const auto& [first, last] : split) {
        Buffer output(ctx, activation_bytes(m.cfg, batch));
        output.poison();
        fg_step_stats s{};
        s.size = sizeof s;
        EXPECT_EQ(fg_mixer_stage_gradients(m, batch, first == 0 ? b.img.buf : nullptr, first == 0 ? nullptr : input.buf,
                                           b.lab, &o, first, last, output, &s),
                  FG_OK)
            << fg_last_error();
        for (int32_t k = 0; k < m.cfg.blocks; ++k) {
            if (k >= first && k < last)
                merged.block_loss[k] = s.block_loss[k];
            else
                EXPECT_EQ(s.block_loss[k], 0.0f) << "stage [" << first << ", " << last << ") reports block " << k;
        }
        if (last == m.cfg.blocks) {
            merged.loss = s.loss, merged.accuracy = s.accuracy;
        } else {
            EXPECT_EQ(s.loss, 0.0f);
        }
        merged.blocks = s.blocks;
        input = std::move(output);
    }
    return merged;
}

void expect_same_stats(const fg_step_stats& got, const fg_step_stats& want, int32_t blocks, const std::string& label) {
    EXPECT_EQ(std::memcmp(&got.loss, &want.loss, sizeof(float)), 0) << label << ": loss " << got.loss << " vs " << want.loss;
    EXPECT_EQ(got.accuracy, want.accuracy) << label;
    EXPECT_EQ(got.blocks, want.blocks) << label;
    for (int32_t k = 0; k < blocks; ++k)
        EXPECT_EQ(std::memcmp(&got.block_loss[k], &want.block_loss[k], sizeof(float)), 0)
            << label << ": block " << k << " loss " << got.block_loss[k] << " vs " << want.block_loss[k];
}

}  // namespace

TEST(MixerStages, ChainedStagesGiveTheWholeStepBitForBit) {
    Context c;
    const int64_t batch = 5;
    const Split splits[] = {{{0, 1}, {1, 3}, {3, 4}}, {{0, 2}, {2, 4}}, {{0, 4}}};
    for (int32_t ln = 0; ln < 2; ++ln)
        for (int32_t method : {FG_METHOD_LGBP, FG_METHOD_LGFA, FG_METHOD_LGFGA, FG_METHOD_LGFGW}) {
            Mixer m(c, tiny_config(ln, ln, 4, ln));
            ASSERT_NE(m.m, nullptr) << fg_last_error();
            m.randomize(3);
            Batch b(c, m.cfg, batch, 2);
            const fg_step_options o = step_options(method, 3, 7);
            fg_step_stats whole{};
            whole.size = sizeof whole;
            FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &o, &whole));
            const auto want = m.grads();
            const uint64_t live = c.live_bytes();
            for (const Split& split : splits) {
                const std::string label = "method " + std::to_string(method) + " ln " + std::to_string(ln) + ", " +
                                          std::to_string(split.size()) + " stages";
                poison_gradients(m);  // every gradient must come from one of the stages
                const fg_step_stats got = run_stages(c, m, b, batch, o, split);
                expect_same_stats(got, whole, m.cfg.blocks, label);
                for (int32_t i = 0; i < m.count(); ++i)
                    EXPECT_TRUE(bit_identical(m.get(i, true), want[static_cast<size_t>(i)], label + " " + m.info(i).name));
                EXPECT_EQ(c.live_bytes(), live) << label << ": the stages leave nothing allocated";
            }
        }
}

TEST(MixerStages, AStageWritesOnlyItsOwnBlocksGradients) {
    Context c;
    Mixer m(c, tiny_config(0, 1, 4));
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    m.randomize(4);
    const int64_t batch = 3;
    Batch b(c, m.cfg, batch, 5);
    Buffer input(c, random_vector(activation_bytes(m.cfg, batch) / sizeof(float), 8));
    const fg_step_options o = step_options(FG_METHOD_LGFGA, 2, 1);
    poison_gradients(m);
    FG_ASSERT_OK(fg_mixer_stage_gradients(m, batch, nullptr, input, b.lab, &o, 1, 3, nullptr, nullptr));
    for (int32_t i = 0; i < m.count(); ++i) {
        const fg_param_info info = m.info(i);
        const bool own = info.block >= 1 && info.block < 3;
        for (float g : m.get(i, true)) {
            ASSERT_EQ(std::isnan(g), !own) << info.name;
        }
    }
}

TEST(MixerStages, StageForwardChainsToTheModelsLogits) {
    Context c;
    Mixer m(c, tiny_config(1, 1, 4));
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    m.randomize(6);
    const int64_t batch = 4;
    Batch b(c, m.cfg, batch, 3);
    Buffer first(c, activation_bytes(m.cfg, batch)), second(c, activation_bytes(m.cfg, batch));
    FG_ASSERT_OK(fg_mixer_stage_forward(m, batch, b.img, nullptr, 0, 3, first));
    FG_ASSERT_OK(fg_mixer_stage_forward(m, batch, nullptr, first, 3, 4, second));
    // Oracle: the final classifier on the patch mean of the last block's output, in double.
    const int64_t P = m.cfg.grid * m.cfg.grid, C = m.cfg.channels, N = m.cfg.classes;
    const std::vector<float> out = second.get();
    const std::vector<float> W = m.get(m.count() - 2), bias = m.get(m.count() - 1);
    std::vector<double> want(static_cast<size_t>(batch * N));
    for (int64_t n = 0; n < batch; ++n)
        for (int64_t j = 0; j < N; ++j) {
            double z = bias[static_cast<size_t>(j)];
            for (int64_t ch = 0; ch < C; ++ch) {
                double mean = 0;
                for (int64_t p = 0; p < P; ++p) mean += out[static_cast<size_t>((n * P + p) * C + ch)];
                z += mean / P * W[static_cast<size_t>(ch * N + j)];
            }
            want[static_cast<size_t>(n * N + j)] = z;
        }
    Buffer logits(c, static_cast<uint64_t>(batch * N) * sizeof(float));
    FG_ASSERT_OK(fg_mixer_forward(m, batch, b.img, logits));
    EXPECT_TRUE(all_close(logits.get(), want, 1e-4, 1e-5, "logits from the chained stages' output"));
    // The gradient stage passes on the same activations.
    Buffer passed(c, activation_bytes(m.cfg, batch));
    const fg_step_options o = step_options(FG_METHOD_LGBP);
    FG_ASSERT_OK(fg_mixer_stage_gradients(m, batch, b.img, nullptr, b.lab, &o, 0, 3, passed, nullptr));
    EXPECT_TRUE(bit_identical(passed.get(), first.get(), "stage 0..3 output"));
}

TEST(MixerStages, GlobalMethodsAreRefusedNamingThemAndTheAlternative) {
    Context c;
    Mixer m(c, tiny_config(0, 0, 4));
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    const int64_t batch = 2;
    Batch b(c, m.cfg, batch, 1);
    const std::pair<int32_t, const char*> global[] = {{FG_METHOD_BP, "BP"}, {FG_METHOD_LBP, "L-BP"}, {FG_METHOD_FA, "FA"},
                                                      {FG_METHOD_LFA, "L-FA"}, {FG_METHOD_DFA, "DFA"},
                                                      {FG_METHOD_FGA, "FG-A"}, {FG_METHOD_FGW, "FG-W"}};
    for (const auto& [method, name] : global) {
        const fg_step_options o = step_options(method, 2);
        FG_EXPECT_STATUS(fg_mixer_stage_gradients(m, batch, b.img, nullptr, b.lab, &o, 0, 2, nullptr, nullptr),
                         FG_ERR_INVALID_ARGUMENT);
        EXPECT_TRUE(message_has((std::string("options->method is ") + name + ",").c_str())) << fg_last_error();
        EXPECT_TRUE(message_has("use data parallelism")) << fg_last_error();
    }
}

TEST(MixerStages, BadRangesAndInputsAreRefused) {
    Context c;
    Mixer m(c, tiny_config(0, 0, 4));
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    const int64_t batch = 2;
    Batch b(c, m.cfg, batch, 1);
    Buffer act(c, activation_bytes(m.cfg, batch)), small(c, activation_bytes(m.cfg, batch) - 4);
    const fg_step_options o = step_options(FG_METHOD_LGBP);
    const std::pair<int32_t, int32_t> bad[] = {{-1, 2}, {0, 5}, {2, 2}, {3, 1}};
    for (const auto& [first, last] : bad) {
        const std::string want = "block range [" + std::to_string(first) + ", " + std::to_string(last) + ")";
        FG_EXPECT_STATUS(fg_mixer_stage_gradients(m, batch, b.img, act, b.lab, &o, first, last, nullptr, nullptr),
                         FG_ERR_INVALID_ARGUMENT);
        EXPECT_TRUE(message_has(want.c_str())) << fg_last_error();
        EXPECT_TRUE(message_has("0 <= first < last <= 4")) << fg_last_error();
        FG_EXPECT_STATUS(fg_mixer_stage_forward(m, batch, b.img, act, first, last, act), FG_ERR_INVALID_ARGUMENT);
        EXPECT_TRUE(message_has(want.c_str())) << fg_last_error();
    }
    FG_EXPECT_STATUS(fg_mixer_stage_gradients(m, batch, nullptr, nullptr, b.lab, &o, 1, 4, nullptr, nullptr),
                     FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("input")) << fg_last_error();
    FG_EXPECT_STATUS(fg_mixer_stage_gradients(m, batch, nullptr, small, b.lab, &o, 1, 4, nullptr, nullptr),
                     FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("input")) << fg_last_error();
    FG_EXPECT_STATUS(fg_mixer_stage_gradients(m, batch, b.img, nullptr, b.lab, &o, 0, 2, small, nullptr),
                     FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("output")) << fg_last_error();
    FG_EXPECT_STATUS(fg_mixer_stage_forward(m, batch, b.img, nullptr, 0, 2, nullptr), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("output is NULL")) << fg_last_error();
    FG_EXPECT_STATUS(fg_mixer_stage_forward(m, batch, nullptr, nullptr, 0, 2, act), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(message_has("images")) << fg_last_error();
}
