// Optimizer steps beyond the op table's float64-oracle cases (ops_table/cases_optimizer.cpp): decay
// only where asked, and argument checks.
#include <cmath>

#include "op_table.h"
#include "test_util.h"

using namespace fgtest;

namespace {

constexpr auto sgd = optable::sgd_params;
constexpr auto adamw = optable::adamw_params;

}  // namespace

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
