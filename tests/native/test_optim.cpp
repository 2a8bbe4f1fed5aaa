// Optimizer steps (SGD with momentum, L2 or decoupled decay; AdamW) against float64 oracles with
// torch.optim semantics over several steps, decay only where asked, and argument checks.
#include <cmath>

#include "test_util.h"

using namespace fgtest;

namespace {

fg_optimizer_params sgd(float lr, float momentum, float wd, int32_t decoupled) {
    fg_optimizer_params p{};
    p.size = sizeof p;
    p.kind = FG_OPT_SGD;
    p.lr = lr, p.momentum = momentum, p.weight_decay = wd, p.decoupled = decoupled;
    return p;
}

fg_optimizer_params adamw(float lr, float wd, float beta1, float beta2, float eps) {
    fg_optimizer_params p{};
    p.size = sizeof p;
    p.kind = FG_OPT_ADAMW;
    p.lr = lr, p.weight_decay = wd, p.beta1 = beta1, p.beta2 = beta2, p.eps = eps;
    return p;
}

// One tensor's float64 state, updated like torch.optim.SGD / torch.optim.AdamW.
struct OracleTensor {
    std::vector<double> p, s1, s2;
    void step(const fg_optimizer_params& hp, const std::vector<float>& grad, bool decay) {
        const double lr = hp.lr, wd = decay ? hp.weight_decay : 0.0;
        for (size_t i = 0; i < p.size(); ++i) {
            double g = grad[i];
            if (hp.kind == FG_OPT_SGD) {
                if (hp.decoupled)
                    p[i] -= lr * wd * p[i];
                else
                    g += wd * p[i];
                s1[i] = hp.momentum * s1[i] + g;
                p[i] -= lr * s1[i];
            } else {
                p[i] *= 1.0 - lr * wd;
                s1[i] = hp.beta1 * s1[i] + (1.0 - hp.beta1) * g;
                s2[i] = hp.beta2 * s2[i] + (1.0 - hp.beta2) * g * g;
                const double bc1 = 1.0 - std::pow(double(hp.beta1), double(hp.step));
                const double bc2 = 1.0 - std::pow(double(hp.beta2), double(hp.step));
                p[i] -= lr / bc1 * s1[i] / (std::sqrt(s2[i]) / std::sqrt(bc2) + hp.eps);
            }
        }
    }
};

struct Case {
    const char* name;
    fg_optimizer_params hp;
};

const Case kCases[] = {
    {"sgd_l2", sgd(0.1f, 0.9f, 0.05f, 0)},
    {"sgd_decoupled", sgd(0.1f, 0.9f, 0.05f, 1)},
    {"sgd_plain", sgd(0.3f, 0.0f, 0.0f, 0)},
    {"adamw", adamw(0.01f, 0.1f, 0.9f, 0.999f, 1e-8f)},
    {"adamw_low_beta", adamw(0.05f, 0.01f, 0.5f, 0.9f, 1e-3f)},
};

}  // namespace

class OptimizerSteps : public ::testing::TestWithParam<std::tuple<int32_t, int>> {};

TEST_P(OptimizerSteps, MatchFloat64OracleOverSeveralSteps) {
    const int32_t backend = std::get<0>(GetParam());
    const Case& cs = kCases[std::get<1>(GetParam())];
    FG_SKIP_IF_UNAVAILABLE(backend);
    Context c(backend);
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    const bool adam = cs.hp.kind == FG_OPT_ADAMW;
    // A weight (decayed), a bias (not), and a single element (decayed).
    const std::vector<size_t> sizes = {37, 7, 1};
    const std::vector<int32_t> decay = {1, 0, 1};
    std::vector<OracleTensor> oracle;
    std::vector<Buffer> params, grads, s1, s2;
    for (size_t t = 0; t < sizes.size(); ++t) {
        std::vector<float> p0 = random_vector(sizes[t], 10 + t, 2.0f);
        oracle.push_back({to_double(p0), std::vector<double>(sizes[t], 0.0), std::vector<double>(sizes[t], 0.0)});
        params.emplace_back(c, p0);
        grads.emplace_back(c, sizes[t] * sizeof(float));
        s1.emplace_back(c, std::vector<float>(sizes[t], 0.0f));
        s2.emplace_back(c, std::vector<float>(sizes[t], 0.0f));
    }
    auto handles = [](const std::vector<Buffer>& v) {
        std::vector<fg_buffer*> h;
        for (const Buffer& b : v) h.push_back(b.buf);
        return h;
    };
    std::vector<fg_buffer*> hp = handles(params), hg = handles(grads), h1 = handles(s1), h2 = handles(s2);
    fg_optimizer_params hyper = cs.hp;
    for (int step = 1; step <= 6; ++step) {
        hyper.step = step;
        std::vector<std::vector<float>> g(sizes.size());
        for (size_t t = 0; t < sizes.size(); ++t) {
            g[t] = random_vector(sizes[t], 100 * step + t, 1.5f);
            FG_ASSERT_OK(fg_buffer_upload(grads[t], 0, g[t].data(), sizes[t] * sizeof(float)));
            oracle[t].step(hyper, g[t], decay[t] == 1);
        }
        FG_ASSERT_OK(fg_optimizer_step(c, &hyper, 3, hp.data(), hg.data(), h1.data(), adam ? h2.data() : nullptr,
                                       decay.data()));
        for (size_t t = 0; t < sizes.size(); ++t) {
            const std::string label = std::string(cs.name) + " step " + std::to_string(step) + " tensor " +
                                      std::to_string(t);
            ASSERT_TRUE(all_close(params[t].get(), oracle[t].p, 1e-5, 1e-6, label + " param"));
            ASSERT_TRUE(all_close(s1[t].get(), oracle[t].s1, 1e-5, 1e-6, label + " state1"));
            if (adam) {
                ASSERT_TRUE(all_close(s2[t].get(), oracle[t].s2, 1e-5, 1e-7, label + " state2"));
            }
            EXPECT_EQ(grads[t].get(), g[t]) << label << ": the gradient is an input";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, OptimizerSteps,
                         ::testing::Combine(::testing::ValuesIn(all_backends()),
                                            ::testing::Range(0, static_cast<int>(std::size(kCases)))),
                         [](const auto& info) {
                             return std::string(backend_name(std::get<0>(info.param))) + "_" +
                                    kCases[std::get<1>(info.param)].name;
                         });

TEST(Optim, DecayOnlyWhereAsked) {
    Context c;
    Buffer w(c, std::vector<float>{1.0f, -2.0f}), b(c, std::vector<float>{1.0f, -2.0f});
    Buffer gw(c, std::vector<float>{0.0f, 0.0f}), gb(c, std::vector<float>{0.0f, 0.0f});
    Buffer vw(c, std::vector<float>{0.0f, 0.0f}), vb(c, std::vector<float>{0.0f, 0.0f});
    fg_buffer* p[] = {w, b};
    fg_buffer* g[] = {gw, gb};
    fg_buffer* v[] = {vw, vb};
    const int32_t decay[] = {1, 0};
    for (int32_t decoupled : {0, 1}) {
        fg_optimizer_params hp = sgd(0.5f, 0.0f, 0.1f, decoupled);
        FG_ASSERT_OK(fg_optimizer_step(c, &hp, 2, p, g, v, nullptr, decay));
    }
    // Zero gradients: the weight shrinks by (1 - 0.05) twice, the bias stays.
    EXPECT_TRUE(all_close(w.get(), std::vector<double>{0.9025, -1.805}, 1e-6, 1e-7, "weight"));
    EXPECT_EQ(b.get(), (std::vector<float>{1.0f, -2.0f}));
}

TEST(Optim, BadArgumentsNameTheArgumentAndChangeNothing) {
    Context c, other;
    const std::vector<float> p0 = {1.0f, 2.0f, 3.0f};
    Buffer p(c, p0), g(c, p0), s1(c, p0), s2(c, p0), small(c, 8), foreign(other, p0);
    Buffer p2(c, p0), g2(c, p0), s12(c, p0);
    fg_buffer* ps[] = {p, p2};
    fg_buffer* gs[] = {g, g2};
    fg_buffer* s1s[] = {s1, s12};
    fg_buffer* s2s[] = {s2, s2};
    const int32_t decay[] = {1, 1};
    const fg_optimizer_params good = sgd(0.1f, 0.9f, 0.0f, 0);
    auto expect_invalid = [&](const fg_optimizer_params* hp, int32_t count, fg_buffer* const* pp,
                              fg_buffer* const* gg, fg_buffer* const* a, fg_buffer* const* b, const int32_t* dd,
                              const char* needle) {
        FG_EXPECT_STATUS(fg_optimizer_step(c, hp, count, pp, gg, a, b, dd), FG_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(fg_last_error()).find(needle), std::string::npos)
            << "expected '" << needle << "' in: " << fg_last_error();
    };
    FG_EXPECT_STATUS(fg_optimizer_step(nullptr, &good, 1, ps, gs, s1s, nullptr, decay), FG_ERR_INVALID_ARGUMENT);
    expect_invalid(nullptr, 1, ps, gs, s1s, nullptr, decay, "params");
    fg_optimizer_params bad = good;
    bad.size = 4;
    expect_invalid(&bad, 1, ps, gs, s1s, nullptr, decay, "params->size");
    bad = good, bad.kind = 7;
    expect_invalid(&bad, 1, ps, gs, s1s, nullptr, decay, "params->kind");
    bad = good, bad.lr = -1.0f;
    expect_invalid(&bad, 1, ps, gs, s1s, nullptr, decay, "params->lr");
    bad = good, bad.momentum = NAN;
    expect_invalid(&bad, 1, ps, gs, s1s, nullptr, decay, "params->momentum");
    bad = good, bad.decoupled = 2;
    expect_invalid(&bad, 1, ps, gs, s1s, nullptr, decay, "params->decoupled");
    fg_optimizer_params adam = adamw(0.01f, 0.0f, 0.9f, 0.999f, 1e-8f);
    adam.step = 0;
    expect_invalid(&adam, 1, ps, gs, s1s, s2s, decay, "params->step");
    adam.step = 1, adam.beta1 = 1.0f;
    expect_invalid(&adam, 1, ps, gs, s1s, s2s, decay, "params->beta1");
    adam.beta1 = 0.9f, adam.eps = 0.0f;
    expect_invalid(&adam, 1, ps, gs, s1s, s2s, decay, "params->eps");
    adam.eps = 1e-8f;
    expect_invalid(&adam, 1, ps, gs, s1s, nullptr, decay, "state2 is NULL");
    expect_invalid(&good, 0, ps, gs, s1s, nullptr, decay, "count");
    expect_invalid(&good, 1, nullptr, gs, s1s, nullptr, decay, "parameters is NULL");
    expect_invalid(&good, 1, ps, nullptr, s1s, nullptr, decay, "grads is NULL");
    expect_invalid(&good, 1, ps, gs, nullptr, nullptr, decay, "state1 is NULL");
    expect_invalid(&good, 1, ps, gs, s1s, nullptr, nullptr, "decay is NULL");

    // Entry 1 is bad: entry 0 must not have been updated either.
    auto second_bad = [&](fg_buffer* pb, fg_buffer* gb, fg_buffer* sb, const int32_t* dd, const char* needle) {
        fg_buffer* pp[] = {p, pb};
        fg_buffer* gg[] = {g, gb};
        fg_buffer* ss[] = {s1, sb};
        expect_invalid(&good, 2, pp, gg, ss, nullptr, dd, needle);
        EXPECT_EQ(p.get(), p0) << needle;
        EXPECT_EQ(s1.get(), p0) << needle;
    };
    second_bad(nullptr, g2, s12, decay, "parameters[1] is NULL");
    second_bad(p2, nullptr, s12, decay, "grads[1] is NULL");
    second_bad(p2, small, s12, decay, "grads[1] holds 8 bytes");
    second_bad(p2, g2, small, decay, "state1[1] holds 8 bytes");
    second_bad(foreign, g2, s12, decay, "parameters[1] belongs to another context");
    second_bad(p2, g2, g2, decay, "distinct");
    const int32_t bad_decay[] = {1, 2};
    second_bad(p2, g2, s12, bad_decay, "decay[1]");
    FG_ASSERT_OK(fg_optimizer_step(c, &good, 2, ps, gs, s1s, nullptr, decay));
}
