// LocalMixer gradients: a float64 oracle of the model for the forward pass and central finite
// differences of each backprop method's objective; forward-gradient estimates averaged over many
// tangents converge to the exact gradient of their objective; every method trains a small model.
#include <cmath>

#include "contrastive_oracle.h"
#include "oracle.h"
#include "test_mixer_util.h"

using namespace fgtest;

namespace {

using Vec = std::vector<double>;

std::string method_name(int32_t method) {
    static const char* names[] = {"BP", "LBP", "LGBP", "FGW", "FGA", "LGFGW", "LGFGA", "FA", "LFA", "LGFA", "DFA"};
    return names[method];
}

using Oracle = oracle::Mixer;  // float64 LocalMixer, parameters in the model's order

std::vector<Vec> to_double(const std::vector<std::vector<float>>& p) {
    std::vector<Vec> out;
    for (const auto& v : p) out.emplace_back(v.begin(), v.end());
    return out;
}

// The objective whose gradient a backprop method's step should give parameter `i`, scaled as the step scales it:
// the final classifier its loss times last_layer_lr (0.1) in every method, a head its own block's loss; the
// backbone the final loss (BP), the sum of every block's loss end to end (L-BP) or its own block's (LG-BP).
double objective(const Oracle& o, int32_t method, const fg_param_info& p, const std::vector<Vec>& w,
                 const Batch& b) {
    Vec bl;
    const double final_loss = o.run(w, b.images, b.labels, &bl, nullptr);
    const bool head = std::string(p.name).find("head") != std::string::npos;
    if (p.block < 0) return 0.1 * final_loss;
    if (head || method == FG_METHOD_LGBP) return bl[p.block];
    if (method == FG_METHOD_BP) return final_loss;
    double total = 0;  // L-BP
    for (double l : bl) total += l;
    return total;
}

// Index of block k's head weight (METHOD.md parameter order: 6 tensors in block 0, 8 in the others).
size_t head_index(int32_t k) { return k == 0 ? 4 : static_cast<size_t>(6 + 8 * (k - 1) + 6); }

// The contrastive objective of a backprop method for parameter `p`: view 1 (the first half of the batch)
// through w, view 2 through w0, the values at which the step was taken (its stop-gradient); the final
// classifier reads the last block detached, scaled by last_layer_lr 0.1.
double contrastive_objective(const Oracle& o, int32_t method, const fg_param_info& p, const std::vector<Vec>& w,
                             const std::vector<Vec>& w0, const Batch& b) {
    std::vector<Vec> f1, f2;
    Vec ignored;
    const double final_loss = o.run(w, b.images, b.labels, &ignored, nullptr, nullptr, &f1);
    if (p.block < 0) return 0.1 * final_loss;
    o.run(w0, b.images, b.labels, &ignored, nullptr, nullptr, &f2);
    const int64_t pairs = int64_t(b.labels.size()) / 2;
    auto block_loss = [&](int32_t k) {
        const size_t head = head_index(k);
        return contrastive::batch_loss(pairs, o.P, o.C, FG_CONTRASTIVE_TEMPERATURE, f1[k], w[head], w[head + 1], f2[k],
                                       w0[head], w0[head + 1]);
    };
    const bool head = std::string(p.name).find("head") != std::string::npos;
    if (head || method == FG_METHOD_LGBP) return block_loss(p.block);
    if (method == FG_METHOD_BP) return block_loss(o.c.blocks - 1);
    double total = 0;  // L-BP
    for (int32_t k = 0; k < o.c.blocks; ++k) total += block_loss(k);
    return total;
}

struct FdCase {
    int32_t method, pre_ln, inter_ln, final_ln;
    int32_t local_loss = FG_LOSS_CROSS_ENTROPY;
};

class MixerFiniteDifferences : public ::testing::TestWithParam<FdCase> {};

TEST_P(MixerFiniteDifferences, BackpropGradientsMatchFloat64FiniteDifferences) {
    const FdCase fc = GetParam();
    const bool contrastive = fc.local_loss == FG_LOSS_CONTRASTIVE;
    Context c;
    fg_mixer_config cfg = tiny_config(fc.pre_ln, fc.inter_ln, 2, fc.final_ln);
    cfg.local_loss = fc.local_loss;
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    m.randomize(17);
    const int64_t batch = contrastive ? 4 : 3;  // contrastive: two views of two images
    Batch b(c, cfg, batch, 2);
    fg_step_options opt = step_options(fc.method);
    fg_step_stats st{};
    st.size = sizeof st;
    FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &opt, &st));
    Oracle o(cfg);
    std::vector<Vec> w = to_double(m.params());
    const std::vector<Vec> w0 = w;
    Vec bl, logits;
    std::vector<Vec> features;
    const double loss = o.run(w, b.images, b.labels, &bl, &logits, nullptr, &features);
    EXPECT_NEAR(st.loss, loss, 1e-5 * (1 + loss));
    for (int32_t k = 0; k < cfg.blocks; ++k) {
        if (contrastive) {
            const size_t head = head_index(k);
            bl[k] = contrastive::batch_loss(batch / 2, o.P, o.C, FG_CONTRASTIVE_TEMPERATURE, features[k], w[head],
                                            w[head + 1], features[k], w[head], w[head + 1]);
        }
        EXPECT_NEAR(st.block_loss[k], bl[k], 1e-5 * (1 + bl[k]));
    }
    Buffer lg(c, batch * 3 * 4);
    FG_ASSERT_OK(fg_mixer_forward(m, batch, b.img, lg));
    EXPECT_TRUE(all_close(lg.get(), logits, 1e-5, 1e-5, "logits"));
    const double h = 1e-5;
    for (int32_t i = 0; i < m.count(); ++i) {
        fg_param_info p = m.info(i);
        auto got = m.get(i, true);
        Vec want(got.size());
        for (size_t j = 0; j < got.size(); ++j) {
            const double keep = w[i][j];
            w[i][j] = keep + h;
            const double up = contrastive ? contrastive_objective(o, fc.method, p, w, w0, b) : objective(o, fc.method, p, w, b);
            w[i][j] = keep - h;
            const double down =
                contrastive ? contrastive_objective(o, fc.method, p, w, w0, b) : objective(o, fc.method, p, w, b);
            w[i][j] = keep;
            want[j] = (up - down) / (2 * h);
        }
        double scale = 0;
        for (double v : want) scale = std::max(scale, std::fabs(v));
        EXPECT_TRUE(all_close(got, want, 2e-3, 1e-6 + 2e-4 * scale, p.name));
    }
}

INSTANTIATE_TEST_SUITE_P(Methods, MixerFiniteDifferences,
                         ::testing::Values(FdCase{FG_METHOD_BP, 0, 0, 0}, FdCase{FG_METHOD_LBP, 0, 0, 0},
                                           FdCase{FG_METHOD_LGBP, 0, 0, 0}, FdCase{FG_METHOD_BP, 1, 1, 1},
                                           FdCase{FG_METHOD_LBP, 1, 1, 1}, FdCase{FG_METHOD_LGBP, 1, 0, 0},
                                           FdCase{FG_METHOD_LGBP, 0, 1, 1}, FdCase{FG_METHOD_BP, 0, 0, 1},
                                           FdCase{FG_METHOD_BP, 0, 0, 0, FG_LOSS_CONTRASTIVE},
                                           FdCase{FG_METHOD_LBP, 0, 0, 0, FG_LOSS_CONTRASTIVE},
                                           FdCase{FG_METHOD_LGBP, 0, 0, 0, FG_LOSS_CONTRASTIVE},
                                           FdCase{FG_METHOD_LBP, 1, 1, 0, FG_LOSS_CONTRASTIVE}),
                         [](const auto& info) {
                             return method_name(info.param.method) + "_pre" + std::to_string(info.param.pre_ln) +
                                    "_inter" + std::to_string(info.param.inter_ln) + "_final" +
                                    std::to_string(info.param.final_ln) +
                                    (info.param.local_loss == FG_LOSS_CONTRASTIVE ? "_contrastive" : "");
                         });

// ---------------------------------------------------------------- direct feedback alignment

class MixerDirectFeedback : public ::testing::TestWithParam<int32_t> {};

// DFA against the float64 oracle: a layer's update is the derivative of <delta, A(w)> with respect to that
// layer's parameters, where A is the layer's ReLU output and delta[n, p] = F e_n / P is held fixed (F the
// layer's feedback matrix, e = (softmax - onehot) / B of the final classifier); central differences of the
// oracle. Heads get their block loss's gradient and the final classifier 0.1 x the final loss's, as in BP.
TEST_P(MixerDirectFeedback, UpdateMatchesFloat64Oracle) {
    const int32_t lns = GetParam();
    Context c;
    const fg_mixer_config cfg = tiny_config(lns, lns, 2, lns);
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    m.randomize(17);
    Batch b(c, cfg, 3, 2);
    fg_step_options opt = step_options(FG_METHOD_DFA);
    FG_ASSERT_OK(fg_mixer_gradients(m, 3, b.img, b.lab, &opt, nullptr));
    const Oracle o(cfg);
    const int64_t B = 3, P = o.P, C = o.C, N = o.N;
    ASSERT_EQ(m.feedback_count(FG_METHOD_DFA), 5);
    std::vector<Vec> w = to_double(m.params());
    Vec logits;
    std::vector<Vec> layers;
    o.run(w, b.images, b.labels, nullptr, &logits, &layers);
    ASSERT_EQ(layers.size(), 5u);
    std::vector<Vec> delta(layers.size(), Vec(B * P * C, 0.0));
    for (size_t l = 0; l < layers.size(); ++l) {
        EXPECT_EQ(std::string(m.feedback_info(FG_METHOD_DFA, static_cast<int32_t>(l)).name),
                  std::string("direct_feedback.block") + (l < 2 ? "0." : "1.") +
                      (l == 0 || l == 3 ? "channel" : l == 2 ? "token" : "group"));
        const auto F = m.get_feedback(FG_METHOD_DFA, static_cast<int32_t>(l));
        for (int64_t n = 0; n < B; ++n) {
            double mx = -1e300, se = 0;
            for (int64_t j = 0; j < N; ++j) mx = std::max(mx, logits[n * N + j]);
            for (int64_t j = 0; j < N; ++j) se += std::exp(logits[n * N + j] - mx);
            for (int64_t ch = 0; ch < C; ++ch) {
                double v = 0;
                for (int64_t j = 0; j < N; ++j) {
                    const double e = (std::exp(logits[n * N + j] - mx) / se - (j == b.labels[n])) / B;
                    v += F[ch * N + j] * e;
                }
                for (int64_t p = 0; p < P; ++p) delta[l][(n * P + p) * C + ch] = v / P;
            }
        }
    }
    // <delta_l, A_l(w)> for the layer a parameter belongs to
    auto layer_of = [](const fg_param_info& p) {
        const std::string name = p.name;
        const int layer = name.find("token") != std::string::npos ? 0 : name.find("channel") != std::string::npos ? 1 : 2;
        return p.block == 0 ? layer - 1 : 2 + 3 * (p.block - 1) + layer;
    };
    const double h = 1e-5;
    for (int32_t i = 0; i < m.count(); ++i) {
        const fg_param_info p = m.info(i);
        const std::string name = p.name;
        const bool backbone = p.block >= 0 && name.find("head") == std::string::npos;
        auto f = [&]() {
            if (!backbone) return objective(o, FG_METHOD_BP, p, w, b);
            std::vector<Vec> out;
            o.run(w, b.images, b.labels, nullptr, nullptr, &out);
            const size_t l = static_cast<size_t>(layer_of(p));
            double s = 0;
            for (size_t j = 0; j < out[l].size(); ++j) s += delta[l][j] * out[l][j];
            return s;
        };
        auto got = m.get(i, true);
        Vec want(got.size());
        for (size_t j = 0; j < got.size(); ++j) {
            const double keep = w[i][j];
            w[i][j] = keep + h;
            const double up = f();
            w[i][j] = keep - h;
            const double down = f();
            w[i][j] = keep;
            want[j] = (up - down) / (2 * h);
        }
        double scale = 0;
        for (double v : want) scale = std::max(scale, std::fabs(v));
        // The LN over C after the token layer removes the token bias (one value per patch for all channels):
        // its exact gradient is 0, every other one must not be.
        if (name.find("token.bias") == std::string::npos) EXPECT_GT(scale, 0.0) << name;
        EXPECT_TRUE(all_close(got, want, 2e-3, 1e-7 + 2e-4 * scale, name));
    }
}

INSTANTIATE_TEST_SUITE_P(LayerNorms, MixerDirectFeedback, ::testing::Values(0, 1),
                         [](const auto& info) { return info.param ? std::string("all_ln") : std::string("no_ln"); });

// ---------------------------------------------------------------- forward-gradient convergence

struct ConvCase {
    int32_t method, exact, tangents, local_loss = FG_LOSS_CROSS_ENTROPY;
};

class MixerEstimatorConvergence : public ::testing::TestWithParam<ConvCase> {};

// The mean of many estimates approaches the exact gradient of the method's objective, tensor by
// tensor, and its error shrinks as more estimates are averaged (K tangents per step, 1 vs 16 steps).
TEST_P(MixerEstimatorConvergence, MeanOfEstimatesConvergesToExactGradient) {
    const ConvCase cc = GetParam();
    Context c;
    fg_mixer_config cfg = tiny_config();
    cfg.local_loss = cc.local_loss;
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr);
    m.randomize(23);
    const int64_t batch = cc.local_loss == FG_LOSS_CONTRASTIVE ? 4 : 3;
    Batch b(c, cfg, batch, 5);
    fg_step_options ex = step_options(cc.exact);
    FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &ex, nullptr));
    auto exact = m.grads();
    const int32_t n = m.count();
    std::vector<Vec> sum(n);
    for (int32_t i = 0; i < n; ++i) sum[i].assign(exact[i].size(), 0.0);
    const int steps_small = 1, steps_large = 16;
    // Tensors whose mean must converge: not the exact heads, not the token bias (it shifts all C
    // channels of a patch alike, which the LN over C removes: its exact gradient is rounding
    // noise).
    std::vector<bool> checked(n);
    for (int32_t i = 0; i < n; ++i) {
        const std::string name = m.info(i).name;
        checked[i] = name.find("head") == std::string::npos && m.info(i).block >= 0 &&
                     name.find("token.bias") == std::string::npos;
    }
    double err_small = 0, err_large = 0, norm = 0;
    std::vector<double> cos_large(n), err_exact(n);
    for (int s = 1; s <= steps_large; ++s) {
        fg_step_options o = step_options(cc.method, cc.tangents, static_cast<uint32_t>(s));
        FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &o, nullptr));
        auto g = m.grads();
        for (int32_t i = 0; i < n; ++i)
            for (size_t j = 0; j < g[i].size(); ++j) sum[i][j] += g[i][j];
        if (s != steps_small && s != steps_large) continue;
        double e = 0;
        norm = 0;
        for (int32_t i = 0; i < n; ++i) {
            Vec mean(sum[i].size()), want(exact[i].begin(), exact[i].end());
            double ei = 0;
            for (size_t j = 0; j < mean.size(); ++j) {
                mean[j] = sum[i][j] / s;
                ei += (mean[j] - want[j]) * (mean[j] - want[j]);
                if (checked[i]) norm += want[j] * want[j];
            }
            if (checked[i]) e += ei;
            if (s == steps_large) cos_large[i] = cosine(mean, want), err_exact[i] = ei;
        }
        (s == steps_small ? err_small : err_large) = std::sqrt(e / norm);
    }
    // 16x more samples: the backbone's error should fall about 4x; allow 1.7x (heavy tails).
    EXPECT_LT(err_large, 0.6 * err_small);
    for (int32_t i = 0; i < n; ++i) {
        const std::string name = m.info(i).name;
        if (name.find("head") != std::string::npos || m.info(i).block < 0)
            EXPECT_LT(err_exact[i], 1e-10) << name << ": heads and the final classifier are exact";
        else if (checked[i])
            EXPECT_GT(cos_large[i], 0.9) << name;
    }
}

INSTANTIATE_TEST_SUITE_P(Methods, MixerEstimatorConvergence,
                         ::testing::Values(ConvCase{FG_METHOD_LGFGA, FG_METHOD_LGBP, 512},
                                           ConvCase{FG_METHOD_FGA, FG_METHOD_BP, 4096},
                                           ConvCase{FG_METHOD_LGFGW, FG_METHOD_LGBP, 4096},
                                           ConvCase{FG_METHOD_FGW, FG_METHOD_BP, 8192},
                                           ConvCase{FG_METHOD_LGFGA, FG_METHOD_LGBP, 512, FG_LOSS_CONTRASTIVE}),
                         [](const auto& info) {
                             return method_name(info.param.method) +
                                    (info.param.local_loss == FG_LOSS_CONTRASTIVE ? "_contrastive" : "");
                         });

// With every optional LN on (before each linear layer, per group before the group layer; per group before each
// local loss; before the final classifier) and G > 1, LG-FG-A still estimates the LG-BP gradient without bias,
// with the cross-entropy and with the contrastive local loss (whose tangents cover view 1 only): the cosine
// between the mean of many estimates and the exact gradient keeps approaching 1 as more are averaged (1 - cos
// falls like 1/samples). A biased estimate would stall short of 1.
class MixerEstimatorBias : public ::testing::TestWithParam<int32_t> {};

TEST_P(MixerEstimatorBias, LocalGreedyActivityIsUnbiasedWithEveryLayerNorm) {
    Context c;
    fg_mixer_config cfg = tiny_config(1, 1, 2, 1);
    cfg.local_loss = GetParam();
    const int64_t batch = cfg.local_loss == FG_LOSS_CONTRASTIVE ? 4 : 3;  // contrastive: two views of two images
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    m.randomize(23);
    Batch b(c, cfg, batch, 5);
    fg_step_options ex = step_options(FG_METHOD_LGBP);
    FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &ex, nullptr));
    auto exact = m.grads();
    const int32_t n = m.count();
    std::vector<Vec> sum(n);
    for (int32_t i = 0; i < n; ++i) sum[i].assign(exact[i].size(), 0.0);
    const int early = 4, late = 64;
    std::vector<double> gap_early(n), gap_late(n);
    for (int s = 1; s <= late; ++s) {
        fg_step_options o = step_options(FG_METHOD_LGFGA, 1024, static_cast<uint32_t>(s));
        FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &o, nullptr));
        auto g = m.grads();
        for (int32_t i = 0; i < n; ++i)
            for (size_t j = 0; j < g[i].size(); ++j) sum[i][j] += g[i][j];
        if (s != early && s != late) continue;
        for (int32_t i = 0; i < n; ++i) {
            Vec mean(sum[i].size()), want(exact[i].begin(), exact[i].end());
            for (size_t j = 0; j < mean.size(); ++j) mean[j] = sum[i][j] / s;
            (s == early ? gap_early : gap_late)[i] = 1.0 - cosine(mean, want);
        }
    }
    int checked = 0;
    for (int32_t i = 0; i < n; ++i) {
        const std::string name = m.info(i).name;
        // the token bias shifts every channel of a patch alike, which the LN over C removes: its exact
        // gradient is rounding noise
        if (name.find("head") != std::string::npos || m.info(i).block < 0 ||
            name.find("token.bias") != std::string::npos)
            continue;
        ++checked;
        EXPECT_LT(gap_late[i], 5e-3) << name;
        EXPECT_LT(gap_late[i], 0.25 * gap_early[i]) << name << ": 16x more samples, 1 - cos " << gap_early[i]
                                                    << " -> " << gap_late[i];
    }
    EXPECT_EQ(checked, 9);
}

INSTANTIATE_TEST_SUITE_P(Losses, MixerEstimatorBias, ::testing::Values(FG_LOSS_CROSS_ENTROPY, FG_LOSS_CONTRASTIVE),
                         [](const auto& info) {
                             return info.param == FG_LOSS_CONTRASTIVE ? std::string("contrastive")
                                                                      : std::string("cross_entropy");
                         });

// LG-FG-W's channel layer: FG_SLICES_SUM (default) scales every column of its weight tangent by sum_g D(g),
// FG_SLICES_GROUP column j by D(group of j). On the same step (same tangents, K = 1) the group layer is
// unchanged and the per-group factors add up to the summed one. The tangents are redrawn here from their
// documented Philox key (seed, step, 0x20000 + parameter index).
TEST(MixerWeightSlices, ChannelLayerPerGroupOption) {
    Context c;
    const fg_mixer_config cfg = tiny_config(0, 0, 1);  // channel weight (4, 8), G = 2
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr);
    m.randomize(31);
    Batch b(c, cfg, 4, 3);
    fg_step_options o = step_options(FG_METHOD_LGFGW, 1, 5);
    FG_ASSERT_OK(fg_mixer_gradients(m, 4, b.img, b.lab, &o, nullptr));
    auto summed = m.grads();
    o.channel_slices = FG_SLICES_GROUP;
    FG_ASSERT_OK(fg_mixer_gradients(m, 4, b.img, b.lab, &o, nullptr));
    auto sliced = m.grads();
    const int32_t channel = 0, group = 2;
    EXPECT_EQ(std::string(m.info(channel).name), "block0.channel.weight");
    EXPECT_TRUE(all_close(sliced[group], summed[group], 0, 0, "group.weight"));
    const int64_t count = m.info(channel).elements, cols = 8, per_group = 4;
    Buffer v(c, static_cast<uint64_t>(count) * sizeof(float));
    FG_ASSERT_OK(fg_random_normal(c, v, static_cast<uint64_t>(count), 11, 5, 0x20000u + channel));
    const auto tangent = v.get();
    const double total = summed[channel][0] / tangent[0];
    double factor[2] = {sliced[channel][0] / tangent[0], sliced[channel][per_group] / tangent[per_group]};
    for (int64_t e = 0; e < count; ++e) {
        EXPECT_NEAR(summed[channel][e], total * tangent[e], 1e-5 * (1 + std::fabs(summed[channel][e])));
        const double f = factor[(e % cols) / per_group];
        EXPECT_NEAR(sliced[channel][e], f * tangent[e], 1e-5 * (1 + std::fabs(sliced[channel][e])));
    }
    EXPECT_NEAR(factor[0] + factor[1], total, 1e-5 * (1 + std::fabs(total)));
    EXPECT_GT(std::fabs(factor[0] - factor[1]), 1e-3 * std::fabs(total)) << "the two groups should differ";
}

// ---------------------------------------------------------------- training

class MixerTraining : public ::testing::TestWithParam<int32_t> {};

// A separable problem: the class picks which pixel of every 2x2 patch is bright.
TEST_P(MixerTraining, SgdStepsLowerTheLoss) {
    const int32_t method = GetParam();
    Context c;
    fg_mixer_config cfg = tiny_config();
    cfg.channels = 16;
    cfg.groups = 4;
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr);
    const int64_t B = 24;
    std::vector<float> images(B * 16);
    std::vector<int32_t> labels(B);
    auto noise = random_vector(images.size(), 99, 0.3f);
    for (int64_t n = 0; n < B; ++n) {
        labels[n] = static_cast<int32_t>(n % 3);
        for (int64_t i = 0; i < 16; ++i) {
            const int64_t pixel = (i / 4 % 2) * 2 + i % 2;
            images[n * 16 + i] = noise[n * 16 + i] + (pixel == labels[n] ? 1.0f : -0.3f);
        }
    }
    Buffer img(c, images), lab(c, labels);
    fg_step_stats st{};
    st.size = sizeof st;
    float first = 0, first_block = 0;
    for (uint32_t step = 0; step < 30; ++step) {
        fg_step_options o = step_options(method, 8, step);
        o.last_layer_lr = 1.0f;
        FG_ASSERT_OK(fg_mixer_gradients(m, B, img, lab, &o, &st));
        if (step == 0) first = st.loss, first_block = st.block_loss[0];
        for (int32_t i = 0; i < m.count(); ++i) {
            auto p = m.get(i);
            auto g = m.get(i, true);
            for (size_t j = 0; j < p.size(); ++j) p[j] -= 0.2f * g[j];
            m.set(i, p);
        }
    }
    fg_step_options last = step_options(method, 8, 99);
    FG_ASSERT_OK(fg_mixer_gradients(m, B, img, lab, &last, &st));
    EXPECT_LT(st.loss, 0.8f * first);
    EXPECT_LT(st.block_loss[0], 0.9f * first_block);
}

INSTANTIATE_TEST_SUITE_P(Methods, MixerTraining, ::testing::Range(FG_METHOD_BP, FG_METHOD_DFA + 1),
                         [](const auto& info) { return method_name(info.param); });

}  // namespace
