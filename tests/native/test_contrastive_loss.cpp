// The fused contrastive local loss (METHOD.md section 2, "Contrastive local loss") against a naive
// float64 oracle: the loss from its definition; every (view-1 image, patch, group) copy built
// explicitly with the other parts and view 2 as constants and differentiated by central differences;
// the head gradient and dx by finite differences of the batch-mean loss with view 2 held at its value
// (the stop-gradient); optional outputs; argument errors; live bytes.
#include <algorithm>

#include "contrastive_oracle.h"
#include "test_util.h"

using namespace fgtest;

namespace {

struct Case {
    int64_t B, P, C, G, D, K;  // B pairs: 2B images
    float t;
};

std::string describe(int32_t backend, const Case& s) {
    return std::string(backend_name(backend)) + " B=" + std::to_string(s.B) + " P=" + std::to_string(s.P) +
           " C=" + std::to_string(s.C) + " G=" + std::to_string(s.G) + " D=" + std::to_string(s.D) +
           " K=" + std::to_string(s.K) + " t=" + std::to_string(s.t);
}

struct Problem {
    Case s;
    std::vector<float> x, xdot, w, b;  // x (2B,P,C), xdot (K,2B,P,C), w (C,D), b (D)
};

Problem make_problem(const Case& s, uint32_t seed) {
    const int64_t images = 2 * s.B;
    return Problem{s, random_vector(images * s.P * s.C, seed),
                   random_vector(std::max<int64_t>(s.K, 1) * images * s.P * s.C, seed + 1),
                   random_vector(s.C * s.D, seed + 2, 0.5f), random_vector(s.D, seed + 3, 0.5f)};
}

// ---- float64 oracle

using contrastive::Vec;

// Batch-mean loss with view 1 from (x1, w1, b1) and view 2 held at the problem's values (stop-gradient).
double batch_loss(const Problem& pr, const Vec& x1, const Vec& w1, const Vec& b1) {
    return contrastive::batch_loss(pr.s.B, pr.s.P, pr.s.C, pr.s.t, x1, w1, b1, to_double(pr.x), to_double(pr.w),
                                   to_double(pr.b));
}

struct Oracle {
    Vec loss, d, dw, db, dx;
    std::vector<size_t> dw_checked;  // the dw entries differentiated (all, or a stride through a large head)
};

Oracle oracle(const Problem& pr) {
    const auto& s = pr.s;
    const double h = 1e-4;
    const int64_t images = 2 * s.B, cg = s.C / s.G;
    const Vec x = to_double(pr.x), w = to_double(pr.w), b = to_double(pr.b);
    Oracle o;
    std::vector<Vec> e2;
    for (int64_t n = 0; n < s.B; ++n) e2.push_back(contrastive::embed(contrastive::pooled(x, s.B + n, s.P, s.C), w, b));
    for (int64_t n = 0; n < s.B; ++n)
        o.loss.push_back(contrastive::pair_loss(contrastive::embed(contrastive::pooled(x, n, s.P, s.C), w, b), n, e2, s.t));

    // Copy (k, n, p, g): only x[n, p, group g] moves along the tangent; every other part is a constant.
    // A view-2 image is a stop-gradient: its copies have derivative 0.
    o.d.assign(std::max<int64_t>(s.K, 0) * images * s.P * s.G, 0.0);
    for (int64_t k = 0; k < s.K; ++k)
        for (int64_t n = 0; n < s.B; ++n)
            for (int64_t p = 0; p < s.P; ++p)
                for (int64_t g = 0; g < s.G; ++g) {
                    auto copy_loss = [&](double t) {
                        Vec xt = x;
                        for (int64_t c = g * cg; c < (g + 1) * cg; ++c)
                            xt[(n * s.P + p) * s.C + c] += t * pr.xdot[((k * images + n) * s.P + p) * s.C + c];
                        return batch_loss(pr, xt, w, b);
                    };
                    o.d[((k * images + n) * s.P + p) * s.G + g] = (copy_loss(h) - copy_loss(-h)) / (2 * h);
                }

    const size_t stride = w.size() <= 2000 ? 1 : 37;
    o.dw.assign(w.size(), 0.0);
    for (size_t i = 0; i < w.size(); i += stride) {
        Vec wp = w, wm = w;
        wp[i] += h, wm[i] -= h;
        o.dw[i] = (batch_loss(pr, x, wp, b) - batch_loss(pr, x, wm, b)) / (2 * h);
        o.dw_checked.push_back(i);
    }
    for (size_t j = 0; j < b.size(); ++j) {
        Vec bp = b, bm = b;
        bp[j] += h, bm[j] -= h;
        o.db.push_back((batch_loss(pr, x, w, bp) - batch_loss(pr, x, w, bm)) / (2 * h));
    }
    o.dx.assign(x.size(), 0.0);  // view 2's half stays 0
    for (int64_t i = 0; i < s.B * s.P * s.C; ++i) {
        Vec xp = x, xm = x;
        xp[i] += h, xm[i] -= h;
        o.dx[i] = (batch_loss(pr, xp, w, b) - batch_loss(pr, xm, w, b)) / (2 * h);
    }
    return o;
}

// ---- the library side

struct Buffers {
    Buffer x, xdot, w, b, loss, d, dw, db, dx;
    Buffers(fg_context* c, const Problem& pr)
        : x(c, pr.x), xdot(c, pr.xdot), w(c, pr.w), b(c, pr.b), loss(c, pr.s.B * 4),
          d(c, std::max<int64_t>(pr.s.K, 1) * 2 * pr.s.B * pr.s.P * pr.s.G * 4), dw(c, pr.s.C * pr.s.D * 4),
          db(c, pr.s.D * 4), dx(c, 2 * pr.s.B * pr.s.P * pr.s.C * 4) {
        for (const Buffer* o : {&loss, &d, &dw, &db, &dx}) o->poison();
    }
    fg_status run(fg_context* c, const Case& s, bool all_outputs = true) {
        return fg_contrastive_loss(c, s.B, s.P, s.C, s.G, s.D, s.K, s.t, x, xdot, w, b, loss, d,
                                   all_outputs ? dw.buf : nullptr, all_outputs ? db.buf : nullptr,
                                   all_outputs ? dx.buf : nullptr);
    }
};

const Case kCases[] = {
    {1, 1, 1, 1, 1, 1, 0.5f},      // one pair: the loss is 0 and so is every derivative
    {2, 1, 4, 1, 3, 1, 0.5f},      // one patch, one group
    {3, 4, 12, 3, 5, 3, 0.5f},     // K = 3
    {4, 9, 40, 8, 16, 2, 0.2f},    // odd group width (5), another temperature
    {2, 8, 64, 16, 128, 1, 0.5f},  // the model's projection width, narrow groups (4 channels)
    {3, 2, 33, 11, 7, 0, 0.5f},    // K = 0: no d
};

}  // namespace

class ContrastiveLossTest : public ::testing::TestWithParam<int32_t> {};

TEST_P(ContrastiveLossTest, MatchesNaiveCopiesAndFiniteDifferences) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    uint32_t seed = 40;
    for (const auto& s : kCases) {
        Problem pr = make_problem(s, seed);
        seed += 10;
        Oracle o = oracle(pr);
        Buffers bufs(c, pr);
        FG_ASSERT_OK(bufs.run(c, s));
        const std::string label = describe(GetParam(), s);
        EXPECT_TRUE(all_close(bufs.loss.get(), o.loss, 1e-5, 1e-5, label + " loss"));
        if (s.K > 0) {
            EXPECT_TRUE(all_close(bufs.d.get(), o.d, 2e-4, 2e-7, label + " d vs naive copies"));
        } else {  // d is not written without tangents
            for (float v : bufs.d.get()) ASSERT_TRUE(std::isnan(v)) << label;
        }
        std::vector<float> dw_got;
        Vec dw_want;
        const auto dw = bufs.dw.get();
        for (size_t i : o.dw_checked) dw_got.push_back(dw[i]), dw_want.push_back(o.dw[i]);
        EXPECT_TRUE(all_close(dw_got, dw_want, 2e-4, 2e-7, label + " dw vs finite differences"));
        EXPECT_TRUE(all_close(bufs.db.get(), o.db, 2e-4, 2e-7, label + " db vs finite differences"));
        EXPECT_TRUE(all_close(bufs.dx.get(), o.dx, 2e-4, 2e-7, label + " dx vs finite differences"));
    }
}

// Summed over every copy and weighted by nothing else, d is the directional derivative of the one
// batch-mean loss along the view-1 tangent: checked against a finite difference of the whole loss.
TEST_P(ContrastiveLossTest, CopiesSumToTheDerivativeOfTheBlockLoss) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const Case s{5, 4, 16, 4, 8, 2, 0.5f};
    Problem pr = make_problem(s, 5);
    Buffers f(c, pr);
    FG_ASSERT_OK(f.run(c, s));
    const auto d = f.d.get();
    const Vec x = to_double(pr.x), w = to_double(pr.w), b = to_double(pr.b);
    const int64_t per_tangent = 2 * s.B * s.P * s.C, h_images = s.B * s.P * s.C;
    for (int64_t k = 0; k < s.K; ++k) {
        auto along = [&](double t) {
            Vec xt = x;
            for (int64_t i = 0; i < h_images; ++i) xt[i] += t * pr.xdot[k * per_tangent + i];
            return batch_loss(pr, xt, w, b);
        };
        const double want = (along(1e-4) - along(-1e-4)) / 2e-4;
        double got = 0;
        for (int64_t i = 0; i < 2 * s.B * s.P * s.G; ++i) got += d[k * 2 * s.B * s.P * s.G + i];
        EXPECT_NEAR(got, want, 1e-4 * (1 + std::fabs(want))) << "tangent " << k;
    }
}

TEST_P(ContrastiveLossTest, OptionalOutputsGiveTheSameNumbers) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const Case s{6, 4, 32, 4, 16, 2, 0.5f};
    Problem pr = make_problem(s, 99);
    Buffers full(c, pr), some(c, pr);
    FG_ASSERT_OK(full.run(c, s));
    FG_ASSERT_OK(some.run(c, s, false));
    EXPECT_EQ(full.loss.get(), some.loss.get());
    EXPECT_EQ(full.d.get(), some.d.get());
    for (const Buffer* o : {&some.dw, &some.db, &some.dx})
        for (float v : o->get()) ASSERT_TRUE(std::isnan(v)) << "an output that was not requested was written";
    Buffers head(c, pr);  // only the head gradient: no loss, no d, no xdot
    FG_ASSERT_OK(fg_contrastive_loss(c, s.B, s.P, s.C, s.G, s.D, s.K, s.t, head.x, nullptr, head.w, head.b, nullptr,
                                     nullptr, head.dw, head.db, nullptr));
    EXPECT_EQ(full.dw.get(), head.dw.get());
    EXPECT_EQ(full.db.get(), head.db.get());
}

TEST_P(ContrastiveLossTest, RejectsBadArgumentsWithAMessage) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam()), other(GetParam());
    const Case s{3, 2, 12, 3, 5, 2, 0.5f};
    Problem pr = make_problem(s, 7);
    Buffers f(c, pr);
    Buffer small(c, 8), foreign(other, pr.x);
    auto run = [&](int64_t groups, float t, const fg_buffer* x, const fg_buffer* xdot, const fg_buffer* w,
                   fg_buffer* d, fg_buffer* dw) {
        return fg_contrastive_loss(c, s.B, s.P, s.C, groups, s.D, s.K, t, x, xdot, w, f.b, f.loss, d, dw, f.db, f.dx);
    };
    auto expect_error = [](fg_status st, const std::string& needle) {
        EXPECT_EQ(st, FG_ERR_INVALID_ARGUMENT) << fg_status_string(st);
        EXPECT_NE(std::string(fg_last_error()).find(needle), std::string::npos) << fg_last_error();
    };
    expect_error(run(5, 0.5f, f.x, f.xdot, f.w, f.d, f.dw), "groups (5) must divide channels (12)");
    expect_error(run(3, 0.0f, f.x, f.xdot, f.w, f.d, f.dw), "temperature (0.000000) must be > 0");
    expect_error(run(3, 0.5f, nullptr, f.xdot, f.w, f.d, f.dw), "x is NULL");
    expect_error(run(3, 0.5f, f.x, nullptr, f.w, f.d, f.dw), "xdot is NULL");
    expect_error(run(3, 0.5f, f.x, f.xdot, small, f.d, f.dw), "w is too small");
    expect_error(run(3, 0.5f, f.x, small, f.w, f.d, f.dw), "xdot is too small");
    expect_error(run(3, 0.5f, f.x, f.xdot, f.w, small, f.dw), "d is too small");
    expect_error(run(3, 0.5f, f.x, f.xdot, f.w, f.d, small), "dw is too small");
    expect_error(run(3, 0.5f, foreign, f.xdot, f.w, f.d, f.dw), "x belongs to another context");
    expect_error(fg_contrastive_loss(c, 0, s.P, s.C, s.G, s.D, s.K, s.t, f.x, f.xdot, f.w, f.b, f.loss, f.d, f.dw,
                                     f.db, f.dx),
                 "pairs must be >= 1 (got 0)");
    expect_error(fg_contrastive_loss(c, s.B, s.P, s.C, s.G, 0, s.K, s.t, f.x, f.xdot, f.w, f.b, f.loss, f.d, f.dw,
                                     f.db, f.dx),
                 "dim must be >= 1 (got 0)");
    FG_ASSERT_OK(f.run(c, s));  // the process goes on and a good call still works
}

TEST_P(ContrastiveLossTest, ScratchIsReusedAndBuffersGiveTheirBytesBack) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    const Case s{8, 16, 64, 8, 128, 2, 0.5f};
    Problem pr = make_problem(s, 3);
    fg_context_options options{sizeof(fg_context_options), GetParam(), 0, 0, 1};
    fg_context* ctx = nullptr;
    FG_ASSERT_OK(fg_context_create(&options, &ctx));
    auto live = [&] {
        uint64_t v = 0;
        fg_context_live_bytes(ctx, &v);
        return v;
    };
    uint64_t buffer_bytes = 0, after_first = 0;
    {
        Buffers f(ctx, pr);
        buffer_bytes = live();
        FG_ASSERT_OK(f.run(ctx, s));
        after_first = live();
        for (int i = 0; i < 3; ++i) FG_ASSERT_OK(f.run(ctx, s));
        EXPECT_EQ(live(), after_first) << "a repeated call must not allocate";
    }
    const uint64_t scratch = after_first - buffer_bytes;
    EXPECT_EQ(live(), scratch);
    // ones (P), xbar and v (2B,C), e (2B,D), norms (2B), logits and s (B,B), targets (B), g (B,D), padded
    const int64_t B = s.B;
    EXPECT_LE(scratch, 4u * (s.P + 4 * B * s.C + 2 * B * s.D + 2 * B + 2 * B * B + B + B * s.D + 9 * 64));
    FG_ASSERT_OK(fg_context_free(ctx));
}

INSTANTIATE_TEST_SUITE_P(Backends, ContrastiveLossTest, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return std::string(backend_name(info.param)); });
