// LocalMixer gradients: a float64 oracle of the model for the forward pass and central finite
// differences of each backprop method's objective; forward-gradient estimates averaged over many
// tangents converge to the exact gradient of their objective; every method trains a small model.
#include <cmath>

#include "oracle.h"
#include "test_mixer_util.h"

using namespace fgtest;

namespace {

using Vec = std::vector<double>;

std::string method_name(int32_t method) {
    static const char* names[] = {"BP", "LBP", "LGBP", "FGW", "FGA", "LGFGW", "LGFGA"};
    return names[method];
}

using Oracle = oracle::Mixer;  // float64 LocalMixer, parameters in the model's order

std::vector<Vec> to_double(const std::vector<std::vector<float>>& p) {
    std::vector<Vec> out;
    for (const auto& v : p) out.emplace_back(v.begin(), v.end());
    return out;
}

// The objective whose gradient a backprop method's step should give parameter `i`, scaled as the step scales it.
double objective(const Oracle& o, int32_t method, const fg_param_info& p, const std::vector<Vec>& w,
                 const Batch& b) {
    Vec bl;
    const double final_loss = o.run(w, b.images, b.labels, &bl, nullptr);
    const bool head = std::string(p.name).find("head") != std::string::npos;
    if (p.block < 0) return method == FG_METHOD_LGBP ? 0.1 * final_loss : final_loss;  // last_layer_lr 0.1
    if (head || method == FG_METHOD_LGBP) return bl[p.block];
    if (method == FG_METHOD_BP) return final_loss;
    double total = final_loss;  // L-BP
    for (double l : bl) total += l;
    return total;
}

struct FdCase {
    int32_t method, pre_ln, inter_ln;
};

class MixerFiniteDifferences : public ::testing::TestWithParam<FdCase> {};

TEST_P(MixerFiniteDifferences, BackpropGradientsMatchFloat64FiniteDifferences) {
    const FdCase fc = GetParam();
    Context c;
    fg_mixer_config cfg = tiny_config(fc.pre_ln, fc.inter_ln);
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr) << fg_last_error();
    m.randomize(17);
    Batch b(c, cfg, 3, 2);
    fg_step_options opt = step_options(fc.method);
    fg_step_stats st{};
    st.size = sizeof st;
    FG_ASSERT_OK(fg_mixer_gradients(m, 3, b.img, b.lab, &opt, &st));
    Oracle o(cfg);
    std::vector<Vec> w = to_double(m.params());
    Vec bl, logits;
    const double loss = o.run(w, b.images, b.labels, &bl, &logits);
    EXPECT_NEAR(st.loss, loss, 1e-5 * (1 + loss));
    for (int32_t k = 0; k < cfg.blocks; ++k) EXPECT_NEAR(st.block_loss[k], bl[k], 1e-5 * (1 + bl[k]));
    Buffer lg(c, 3 * 3 * 4);
    FG_ASSERT_OK(fg_mixer_forward(m, 3, b.img, lg));
    EXPECT_TRUE(all_close(lg.get(), logits, 1e-5, 1e-5, "logits"));
    const double h = 1e-5;
    for (int32_t i = 0; i < m.count(); ++i) {
        fg_param_info p = m.info(i);
        auto got = m.get(i, true);
        Vec want(got.size());
        for (size_t j = 0; j < got.size(); ++j) {
            const double keep = w[i][j];
            w[i][j] = keep + h;
            const double up = objective(o, fc.method, p, w, b);
            w[i][j] = keep - h;
            const double down = objective(o, fc.method, p, w, b);
            w[i][j] = keep;
            want[j] = (up - down) / (2 * h);
        }
        double scale = 0;
        for (double v : want) scale = std::max(scale, std::fabs(v));
        EXPECT_TRUE(all_close(got, want, 2e-3, 1e-6 + 2e-4 * scale, p.name));
    }
}

INSTANTIATE_TEST_SUITE_P(Methods, MixerFiniteDifferences,
                         ::testing::Values(FdCase{FG_METHOD_BP, 0, 0}, FdCase{FG_METHOD_LBP, 0, 0},
                                           FdCase{FG_METHOD_LGBP, 0, 0}, FdCase{FG_METHOD_BP, 1, 1},
                                           FdCase{FG_METHOD_LBP, 1, 1}, FdCase{FG_METHOD_LGBP, 1, 0},
                                           FdCase{FG_METHOD_LGBP, 0, 1}),
                         [](const auto& info) {
                             return method_name(info.param.method) + "_pre" +
                                    std::to_string(info.param.pre_ln) + "_inter" + std::to_string(info.param.inter_ln);
                         });

// ---------------------------------------------------------------- forward-gradient convergence

struct ConvCase {
    int32_t method, exact, tangents;
};

class MixerEstimatorConvergence : public ::testing::TestWithParam<ConvCase> {};

// The mean of many estimates approaches the exact gradient of the method's objective, tensor by
// tensor, and its error shrinks as more estimates are averaged (K tangents per step, 1 vs 16 steps).
TEST_P(MixerEstimatorConvergence, MeanOfEstimatesConvergesToExactGradient) {
    const ConvCase cc = GetParam();
    Context c;
    fg_mixer_config cfg = tiny_config();
    Mixer m(c, cfg);
    ASSERT_NE(m.m, nullptr);
    m.randomize(23);
    Batch b(c, cfg, 3, 5);
    fg_step_options ex = step_options(cc.exact);
    FG_ASSERT_OK(fg_mixer_gradients(m, 3, b.img, b.lab, &ex, nullptr));
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
        FG_ASSERT_OK(fg_mixer_gradients(m, 3, b.img, b.lab, &o, nullptr));
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
                                           ConvCase{FG_METHOD_FGW, FG_METHOD_BP, 8192}),
                         [](const auto& info) { return method_name(info.param.method); });

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

INSTANTIATE_TEST_SUITE_P(Methods, MixerTraining, ::testing::Range(FG_METHOD_BP, FG_METHOD_LGFGA + 1),
                         [](const auto& info) { return method_name(info.param); });

}  // namespace
