// LocalMixer gradients: a float64 oracle of the model for the forward pass and central finite
// differences of each backprop method's objective; forward-gradient estimates averaged over many
// tangents converge to the exact gradient of their objective; every method trains a small model.
#include <cmath>

#include "contrastive_oracle.h"
#include "test_mixer_util.h"

using namespace fgtest;

namespace {

using Vec = std::vector<double>;

std::string method_name(int32_t method) {
    static const char* names[] = {"BP", "LBP", "LGBP", "FGW", "FGA", "LGFGW", "LGFGA"};
    return names[method];
}

// float64 LocalMixer of METHOD.md section 3, parameters in the model's order.
struct Oracle {
    fg_mixer_config c;
    int64_t P, C, G, cg, Din, N;
    explicit Oracle(const fg_mixer_config& cfg) : c(cfg) {
        P = int64_t(c.grid) * c.grid, C = c.channels, G = c.groups, cg = C / G, N = c.classes;
        Din = int64_t(c.image_height / c.grid) * (c.image_width / c.grid) * c.image_channels;
    }
    static void ln(Vec& x, int64_t rows, int64_t dim) {
        for (int64_t r = 0; r < rows; ++r) {
            double mu = 0, var = 0;
            for (int64_t i = 0; i < dim; ++i) mu += x[r * dim + i];
            mu /= dim;
            for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mu) * (x[r * dim + i] - mu);
            const double rs = 1.0 / std::sqrt(var / dim + 1e-5);
            for (int64_t i = 0; i < dim; ++i) x[r * dim + i] = (x[r * dim + i] - mu) * rs;
        }
    }
    Vec pre(Vec x, int64_t rows, int64_t dim) const {
        if (c.pre_linear_ln) ln(x, rows, dim);
        return x;
    }
    // Block-diagonal linear: x (R, G', n/G'), W (G', n/G', m/G'), b (m).
    static Vec linear(const Vec& x, int64_t R, int64_t n, int64_t m, int64_t groups, const Vec& W, const Vec& b) {
        const int64_t gi = n / groups, go = m / groups;
        Vec y(R * m);
        for (int64_t r = 0; r < R; ++r)
            for (int64_t g = 0; g < groups; ++g)
                for (int64_t j = 0; j < go; ++j) {
                    double s = b[g * go + j];
                    for (int64_t i = 0; i < gi; ++i) s += x[r * n + g * gi + i] * W[(g * gi + i) * go + j];
                    y[r * m + g * go + j] = s;
                }
        return y;
    }
    Vec token(const Vec& x, int64_t B, const Vec& W, const Vec& b) const {
        Vec y(B * P * C);
        for (int64_t s = 0; s < B; ++s)
            for (int64_t q = 0; q < P; ++q)
                for (int64_t ch = 0; ch < C; ++ch) {
                    double v = b[q];
                    for (int64_t p = 0; p < P; ++p) v += W[p * P + q] * x[(s * P + p) * C + ch];
                    y[(s * P + q) * C + ch] = v;
                }
        return y;
    }
    static void relu(Vec& x) {
        for (double& v : x) v = std::max(v, 0.0);
    }
    // Batch-mean cross-entropy of mean_p(x) W + b; logits out.
    double xent(const Vec& x, int64_t B, const Vec& W, const Vec& b, const std::vector<int32_t>& y, Vec* logits) const {
        double total = 0;
        for (int64_t n = 0; n < B; ++n) {
            Vec xbar(C, 0.0), l(N);
            for (int64_t p = 0; p < P; ++p)
                for (int64_t ch = 0; ch < C; ++ch) xbar[ch] += x[(n * P + p) * C + ch] / P;
            double mx = -1e300;
            for (int64_t j = 0; j < N; ++j) {
                l[j] = b[j];
                for (int64_t ch = 0; ch < C; ++ch) l[j] += xbar[ch] * W[ch * N + j];
                mx = std::max(mx, l[j]);
            }
            double se = 0;
            for (int64_t j = 0; j < N; ++j) se += std::exp(l[j] - mx);
            total += mx + std::log(se) - l[y[n]];
            if (logits) logits->insert(logits->end(), l.begin(), l.end());
        }
        return total / B;
    }
    // Final loss; block_losses (blocks), logits (B, N) and the features the local losses read (blocks of
    // (B, P, C)) out. Block losses are cross-entropies (the contrastive ones are formed from the features).
    double run(const std::vector<Vec>& w, const std::vector<float>& images, const std::vector<int32_t>& labels,
               Vec* block_losses, Vec* logits, std::vector<Vec>* features = nullptr) const {
        const int64_t B = labels.size(), R = B * P, ph = c.image_height / c.grid, pw = c.image_width / c.grid;
        Vec patches(R * Din);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t py = 0; py < c.grid; ++py)
                for (int64_t px = 0; px < c.grid; ++px)
                    for (int64_t i = 0; i < ph; ++i)
                        for (int64_t j = 0; j < pw; ++j)
                            for (int64_t ch = 0; ch < c.image_channels; ++ch)
                                patches[((b * P + py * c.grid + px) * Din) + (i * pw + j) * c.image_channels + ch] =
                                    images[((b * c.image_height + py * ph + i) * c.image_width + px * pw + j) *
                                               c.image_channels + ch];
        size_t at = 0;
        Vec x;
        for (int32_t k = 0; k < c.blocks; ++k) {
            Vec a = patches;
            int64_t n_in = Din;
            if (k >= 1) {
                a = token(pre(x, R, C), B, w[at], w[at + 1]);
                at += 2;
                ln(a, R, C);
                relu(a);
                n_in = C;
            }
            Vec h = linear(pre(a, R, n_in), R, n_in, C, 1, w[at], w[at + 1]);
            at += 2;
            ln(h, R, C);
            relu(h);
            Vec out = linear(pre(h, R, C), R, C, C, G, w[at], w[at + 1]);
            at += 2;
            ln(out, R * G, cg);
            if (k >= 1)
                for (size_t i = 0; i < out.size(); ++i) out[i] += x[i];
            relu(out);
            Vec feat = out;
            if (c.inter_ln) ln(feat, R, C);
            const double lk = c.local_loss == FG_LOSS_CONTRASTIVE ? 0.0 : xent(feat, B, w[at], w[at + 1], labels, nullptr);
            if (features) features->push_back(feat);
            at += 2;
            if (block_losses) block_losses->push_back(lk);
            x = out;
        }
        return xent(x, B, w[at], w[at + 1], labels, logits);
    }
};

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

// Index of block k's head weight (METHOD.md parameter order: 6 tensors in block 0, 8 in the others).
size_t head_index(int32_t k) { return k == 0 ? 4 : static_cast<size_t>(6 + 8 * (k - 1) + 6); }

// The contrastive objective of a backprop method for parameter `p`: view 1 (the first half of the batch)
// through w, view 2 through w0, the values at which the step was taken (its stop-gradient); the final
// classifier reads the last block detached, scaled by last_layer_lr 0.1.
double contrastive_objective(const Oracle& o, int32_t method, const fg_param_info& p, const std::vector<Vec>& w,
                             const std::vector<Vec>& w0, const Batch& b) {
    std::vector<Vec> f1, f2;
    Vec ignored;
    const double final_loss = o.run(w, b.images, b.labels, &ignored, nullptr, &f1);
    if (p.block < 0) return 0.1 * final_loss;
    o.run(w0, b.images, b.labels, &ignored, nullptr, &f2);
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
    int32_t method, pre_ln, inter_ln, local_loss = FG_LOSS_CROSS_ENTROPY;
};

class MixerFiniteDifferences : public ::testing::TestWithParam<FdCase> {};

TEST_P(MixerFiniteDifferences, BackpropGradientsMatchFloat64FiniteDifferences) {
    const FdCase fc = GetParam();
    const bool contrastive = fc.local_loss == FG_LOSS_CONTRASTIVE;
    Context c;
    fg_mixer_config cfg = tiny_config(fc.pre_ln, fc.inter_ln);
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
    const double loss = o.run(w, b.images, b.labels, &bl, &logits, &features);
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
                         ::testing::Values(FdCase{FG_METHOD_BP, 0, 0}, FdCase{FG_METHOD_LBP, 0, 0},
                                           FdCase{FG_METHOD_LGBP, 0, 0}, FdCase{FG_METHOD_BP, 1, 1},
                                           FdCase{FG_METHOD_LBP, 1, 1}, FdCase{FG_METHOD_LGBP, 1, 0},
                                           FdCase{FG_METHOD_LGBP, 0, 1},
                                           FdCase{FG_METHOD_BP, 0, 0, FG_LOSS_CONTRASTIVE},
                                           FdCase{FG_METHOD_LBP, 0, 0, FG_LOSS_CONTRASTIVE},
                                           FdCase{FG_METHOD_LGBP, 0, 0, FG_LOSS_CONTRASTIVE},
                                           FdCase{FG_METHOD_LBP, 1, 1, FG_LOSS_CONTRASTIVE}),
                         [](const auto& info) {
                             return method_name(info.param.method) + "_pre" + std::to_string(info.param.pre_ln) +
                                    "_inter" + std::to_string(info.param.inter_ln) +
                                    (info.param.local_loss == FG_LOSS_CONTRASTIVE ? "_contrastive" : "");
                         });

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
