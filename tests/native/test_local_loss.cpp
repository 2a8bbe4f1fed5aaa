// The fused local loss (METHOD.md section 2) against a naive float64 oracle that forms each of the
// P*G stop-gradient copies explicitly and differentiates it by central differences; the head
// gradient and dx against finite differences of the batch-mean loss; loss and logits against the
// oracle; optional outputs; argument errors; live bytes.
#include <algorithm>

#include "test_util.h"

using namespace fgtest;

namespace {

struct LossCase {
    int64_t B, P, C, G, N, K;
};

std::string describe(int32_t backend, const LossCase& s) {
    return std::string(backend_name(backend)) + " B=" + std::to_string(s.B) + " P=" + std::to_string(s.P) +
           " C=" + std::to_string(s.C) + " G=" + std::to_string(s.G) + " N=" + std::to_string(s.N) +
           " K=" + std::to_string(s.K);
}

struct Problem {
    LossCase s;
    std::vector<float> x, xdot, w, b;  // x (B,P,C), xdot (K,B,P,C), w (C,N), b (N)
    std::vector<int32_t> labels;       // (B)
};

Problem make_problem(const LossCase& s, uint32_t seed) {
    Problem pr{s, random_vector(s.B * s.P * s.C, seed), random_vector(std::max<int64_t>(s.K, 1) * s.B * s.P * s.C,
                                                                      seed + 1),
               random_vector(s.C * s.N, seed + 2, 0.5f), random_vector(s.N, seed + 3, 0.5f), {}};
    std::mt19937 rng(seed + 4);
    for (int64_t n = 0; n < s.B; ++n) pr.labels.push_back(static_cast<int32_t>(rng() % s.N));
    return pr;
}

// ---- float64 oracle

// Cross-entropy of example n's head on a pooled feature xbar (C), with weights w (C,N), b (N).
double example_ce(const Problem& pr, const std::vector<double>& xbar, int64_t n, const std::vector<double>& w,
                  const std::vector<double>& b, std::vector<double>* logits_out = nullptr) {
    const int64_t C = pr.s.C, N = pr.s.N;
    std::vector<double> logits(b.begin(), b.end());
    for (int64_t c = 0; c < C; ++c)
        for (int64_t j = 0; j < N; ++j) logits[j] += xbar[c] * w[c * N + j];
    const double mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (double l : logits) sum += std::exp(l - mx);
    if (logits_out) *logits_out = logits;
    return mx + std::log(sum) - logits[pr.labels[n]];
}

// mean_p x[n, p, :] of x (B,P,C).
std::vector<double> pooled(const Problem& pr, const std::vector<double>& x, int64_t n) {
    const int64_t P = pr.s.P, C = pr.s.C;
    std::vector<double> xbar(C, 0.0);
    for (int64_t p = 0; p < P; ++p)
        for (int64_t c = 0; c < C; ++c) xbar[c] += x[(n * P + p) * C + c];
    for (auto& v : xbar) v /= double(P);
    return xbar;
}

// Loss copy (n, p, g) of the batch-mean loss evaluated at tangent step t:
//   xbar_{p,g}(t) = (1/P) * ( (x_{p,g} + t xdot_{k,p,g}) + sum of every other (patch, group) part ),
// the other parts being stop-gradient constants, built here explicitly for this one copy.
double copy_loss(const Problem& pr, int64_t k, int64_t n, int64_t p, int64_t g, double t) {
    const auto& s = pr.s;
    const int64_t cg = s.C / s.G;
    std::vector<double> xbar(s.C, 0.0);
    for (int64_t p2 = 0; p2 < s.P; ++p2)
        for (int64_t c = 0; c < s.C; ++c) {
            double part = pr.x[(n * s.P + p2) * s.C + c];
            if (p2 == p && c / cg == g) part += t * pr.xdot[((k * s.B + n) * s.P + p) * s.C + c];
            xbar[c] += part;
        }
    for (auto& v : xbar) v /= double(s.P);
    return example_ce(pr, xbar, n, to_double(pr.w), to_double(pr.b)) / double(s.B);
}

// d (K,B,P,G) by central differences of every explicit copy.
std::vector<double> naive_d(const Problem& pr) {
    const auto& s = pr.s;
    const double h = 1e-4;
    std::vector<double> d(s.K * s.B * s.P * s.G);
    for (int64_t k = 0; k < s.K; ++k)
        for (int64_t n = 0; n < s.B; ++n)
            for (int64_t p = 0; p < s.P; ++p)
                for (int64_t g = 0; g < s.G; ++g)
                    d[((k * s.B + n) * s.P + p) * s.G + g] =
                        (copy_loss(pr, k, n, p, g, h) - copy_loss(pr, k, n, p, g, -h)) / (2 * h);
    return d;
}

// Batch-mean loss as a function of the head (the input is a constant).
double batch_loss(const Problem& pr, const std::vector<std::vector<double>>& xbars, const std::vector<double>& w,
                  const std::vector<double>& b) {
    double total = 0;
    for (int64_t n = 0; n < pr.s.B; ++n) total += example_ce(pr, xbars[n], n, w, b);
    return total / double(pr.s.B);
}

struct Oracle {
    std::vector<double> loss, logits, d, dw, db, dx;
    std::vector<size_t> dw_checked;  // the dw entries differentiated (all, or a stride through a large head)
};

Oracle oracle(const Problem& pr) {
    const auto& s = pr.s;
    const double h = 1e-4;
    Oracle o;
    std::vector<double> x = to_double(pr.x), w = to_double(pr.w), b = to_double(pr.b);
    std::vector<std::vector<double>> xbars;
    for (int64_t n = 0; n < s.B; ++n) {
        xbars.push_back(pooled(pr, x, n));
        std::vector<double> logits;
        o.loss.push_back(example_ce(pr, xbars[n], n, w, b, &logits));
        o.logits.insert(o.logits.end(), logits.begin(), logits.end());
    }
    o.d = naive_d(pr);

    // Head gradient of the batch-mean loss by central differences.
    const size_t stride = s.C * s.N <= 4000 ? 1 : 97;
    o.dw.assign(s.C * s.N, 0.0);
    for (size_t i = 0; i < o.dw.size(); i += stride) {
        auto wp = w, wm = w;
        wp[i] += h;
        wm[i] -= h;
        o.dw[i] = (batch_loss(pr, xbars, wp, b) - batch_loss(pr, xbars, wm, b)) / (2 * h);
        o.dw_checked.push_back(i);
    }
    for (int64_t j = 0; j < s.N; ++j) {
        auto bp = b, bm = b;
        bp[j] += h;
        bm[j] -= h;
        o.db.push_back((batch_loss(pr, xbars, w, bp) - batch_loss(pr, xbars, w, bm)) / (2 * h));
    }

    // dx: x[n,p,c] reaches only example n's term of the batch mean.
    o.dx.resize(x.size());
    for (int64_t n = 0; n < s.B; ++n)
        for (int64_t i = n * s.P * s.C; i < (n + 1) * s.P * s.C; ++i) {
            auto xp = x, xm = x;
            xp[i] += h;
            xm[i] -= h;
            o.dx[i] = (example_ce(pr, pooled(pr, xp, n), n, w, b) - example_ce(pr, pooled(pr, xm, n), n, w, b)) /
                      (2 * h * double(s.B));
        }
    return o;
}

// ---- the library side

struct Buffers {
    Buffer x, xdot, w, b, labels, loss, logits, d, dw, db, dx;
    Buffers(fg_context* c, const Problem& pr)
        : x(c, pr.x), xdot(c, pr.xdot), w(c, pr.w), b(c, pr.b), labels(c, pr.labels), loss(c, pr.s.B * 4),
          logits(c, pr.s.B * pr.s.N * 4), d(c, std::max<int64_t>(pr.s.K, 1) * pr.s.B * pr.s.P * pr.s.G * 4),
          dw(c, pr.s.C * pr.s.N * 4), db(c, pr.s.N * 4), dx(c, pr.s.B * pr.s.P * pr.s.C * 4) {
        for (const Buffer* o : {&loss, &logits, &d, &dw, &db, &dx}) o->poison();
    }
    fg_status run(fg_context* c, const LossCase& s, bool all_outputs = true) {
        return fg_local_loss(c, s.B, s.P, s.C, s.G, s.N, s.K, x, xdot, w, b, labels, loss,
                             all_outputs ? logits.buf : nullptr, d, all_outputs ? dw.buf : nullptr,
                             all_outputs ? db.buf : nullptr, all_outputs ? dx.buf : nullptr);
    }
};

std::vector<float> pick(const std::vector<float>& v, const std::vector<size_t>& idx) {
    std::vector<float> out;
    for (size_t i : idx) out.push_back(v[i]);
    return out;
}
std::vector<double> pick(const std::vector<double>& v, const std::vector<size_t>& idx) {
    std::vector<double> out;
    for (size_t i : idx) out.push_back(v[i]);
    return out;
}

const LossCase kCases[] = {
    {1, 1, 1, 1, 2, 1},      // sizes 1
    {3, 4, 12, 3, 5, 3},     // K = 3
    {5, 9, 40, 8, 10, 2},    // odd group width (5)
    {2, 3, 64, 1, 1000, 1},  // one group, ImageNet-sized class count
    {2, 16, 96, 32, 10, 1},  // narrow groups (3 channels), many patches
    {4, 2, 33, 11, 7, 0},    // K = 0: no d
};

}  // namespace

class LocalLossTest : public ::testing::TestWithParam<int32_t> {};

TEST_P(LocalLossTest, MatchesNaiveCopiesAndFiniteDifferences) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    uint32_t seed = 10;
    for (const auto& s : kCases) {
        Problem pr = make_problem(s, seed);
        seed += 10;
        Oracle o = oracle(pr);
        Buffers bufs(c, pr);
        FG_ASSERT_OK(bufs.run(c, s));
        const std::string label = describe(GetParam(), s);
        EXPECT_TRUE(all_close(bufs.loss.get(), o.loss, 1e-5, 1e-5, label + " loss"));
        EXPECT_TRUE(all_close(bufs.logits.get(), o.logits, 1e-5, 1e-5 * std::sqrt(double(s.C)), label + " logits"));
        if (s.K > 0) {
            EXPECT_TRUE(all_close(bufs.d.get(), o.d, 2e-4, 2e-7, label + " d vs naive copies"));
        } else {  // d is not written without tangents
            for (float v : bufs.d.get()) ASSERT_TRUE(std::isnan(v)) << label;
        }
        EXPECT_TRUE(all_close(pick(bufs.dw.get(), o.dw_checked), pick(o.dw, o.dw_checked), 2e-4, 2e-7,
                              label + " dw vs finite differences"));
        EXPECT_TRUE(all_close(bufs.db.get(), o.db, 2e-4, 2e-7, label + " db vs finite differences"));
        EXPECT_TRUE(all_close(bufs.dx.get(), o.dx, 2e-4, 2e-7, label + " dx vs finite differences"));
    }
}

TEST_P(LocalLossTest, OptionalOutputsGiveTheSameNumbers) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const LossCase s{6, 4, 32, 4, 10, 2};
    Problem pr = make_problem(s, 99);
    Buffers full(c, pr), some(c, pr);
    FG_ASSERT_OK(full.run(c, s));
    FG_ASSERT_OK(some.run(c, s, false));  // logits (then in scratch), dw, db, dx not requested
    EXPECT_EQ(full.loss.get(), some.loss.get());
    EXPECT_EQ(full.d.get(), some.d.get());
    for (const Buffer* o : {&some.logits, &some.dw, &some.db, &some.dx})
        for (float v : o->get()) ASSERT_TRUE(std::isnan(v)) << "an output that was not requested was written";

    // Only the head gradient: no loss, no d, no xdot.
    Buffers head(c, pr);
    FG_ASSERT_OK(fg_local_loss(c, s.B, s.P, s.C, s.G, s.N, s.K, head.x, nullptr, head.w, head.b, head.labels, nullptr,
                               nullptr, nullptr, head.dw, head.db, nullptr));
    EXPECT_EQ(full.dw.get(), head.dw.get());
    EXPECT_EQ(full.db.get(), head.db.get());
}

TEST_P(LocalLossTest, RejectsBadArgumentsWithAMessage) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam()), other(GetParam());
    const LossCase s{3, 2, 12, 3, 5, 2};
    Problem pr = make_problem(s, 7);
    Buffers f(c, pr);
    Buffer small(c, 8), foreign(other, pr.x);
    auto run = [&](int64_t groups, const fg_buffer* x, const fg_buffer* xdot, const fg_buffer* w, const fg_buffer* b,
                   const fg_buffer* labels, fg_buffer* d, fg_buffer* dw) {
        return fg_local_loss(c, s.B, s.P, s.C, groups, s.N, s.K, x, xdot, w, b, labels, f.loss, f.logits, d, dw, f.db,
                             f.dx);
    };
    auto expect_error = [](fg_status st, const std::string& needle) {
        EXPECT_EQ(st, FG_ERR_INVALID_ARGUMENT) << fg_status_string(st);
        EXPECT_NE(std::string(fg_last_error()).find(needle), std::string::npos) << fg_last_error();
    };
    expect_error(run(5, f.x, f.xdot, f.w, f.b, f.labels, f.d, f.dw), "groups (5) must divide channels (12)");
    expect_error(run(0, f.x, f.xdot, f.w, f.b, f.labels, f.d, f.dw), "groups must be >= 1 (got 0)");
    expect_error(run(3, nullptr, f.xdot, f.w, f.b, f.labels, f.d, f.dw), "x is NULL");
    expect_error(run(3, f.x, f.xdot, nullptr, f.b, f.labels, f.d, f.dw), "w is NULL");
    expect_error(run(3, f.x, f.xdot, f.w, nullptr, f.labels, f.d, f.dw), "b is NULL");
    expect_error(run(3, f.x, f.xdot, f.w, f.b, nullptr, f.d, f.dw), "labels is NULL");
    expect_error(run(3, f.x, nullptr, f.w, f.b, f.labels, f.d, f.dw), "xdot is NULL");
    expect_error(run(3, f.x, f.xdot, small, f.b, f.labels, f.d, f.dw), "w is too small");
    expect_error(run(3, f.x, small, f.w, f.b, f.labels, f.d, f.dw), "xdot is too small");
    expect_error(run(3, f.x, f.xdot, f.w, f.b, small, f.d, f.dw), "labels is too small");
    expect_error(run(3, f.x, f.xdot, f.w, f.b, f.labels, small, f.dw), "d is too small");
    expect_error(run(3, f.x, f.xdot, f.w, f.b, f.labels, f.d, small), "dw is too small");
    expect_error(run(3, foreign, f.xdot, f.w, f.b, f.labels, f.d, f.dw), "x belongs to another context");
    expect_error(run(3, f.x, f.xdot, f.w, f.b, f.labels, f.d, foreign), "dw belongs to another context");
    expect_error(fg_local_loss(c, s.B, s.P, s.C, s.G, s.N, -1, f.x, f.xdot, f.w, f.b, f.labels, f.loss, f.logits, f.d,
                               f.dw, f.db, f.dx),
                 "tangents must be >= 0 (got -1)");
    expect_error(fg_local_loss(c, 0, s.P, s.C, s.G, s.N, s.K, f.x, f.xdot, f.w, f.b, f.labels, f.loss, f.logits, f.d,
                               f.dw, f.db, f.dx),
                 "batch must be >= 1 (got 0)");
    expect_error(fg_local_loss(nullptr, s.B, s.P, s.C, s.G, s.N, s.K, f.x, f.xdot, f.w, f.b, f.labels, f.loss,
                               f.logits, f.d, f.dw, f.db, f.dx),
                 "context is NULL");
    for (int32_t bad : {-1, 5, 1 << 30}) {
        std::vector<int32_t> labels = pr.labels;
        labels[1] = bad;
        Buffer L(c, labels);
        expect_error(run(3, f.x, f.xdot, f.w, f.b, L, f.d, f.dw),
                     "labels[1] = " + std::to_string(bad) + " is outside [0, classes = 5)");
    }
    // The process goes on and a good call still works.
    FG_ASSERT_OK(f.run(c, s));
}

TEST_P(LocalLossTest, ScratchIsReusedAndBuffersGiveTheirBytesBack) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    const LossCase s{8, 16, 64, 8, 10, 2};
    Problem pr = make_problem(s, 3);
    uint64_t buffer_bytes = 0, after_first = 0;
    fg_context_options options{sizeof(fg_context_options), GetParam(), 0, 0, 1};
    fg_context* ctx = nullptr;
    FG_ASSERT_OK(fg_context_create(&options, &ctx));
    auto live = [&] {
        uint64_t v = 0;
        fg_context_live_bytes(ctx, &v);
        return v;
    };
    {
        Buffers f(ctx, pr);
        buffer_bytes = live();
        FG_ASSERT_OK(f.run(ctx, s, false));  // logits in scratch: the largest scratch need
        after_first = live();
        for (int i = 0; i < 3; ++i) FG_ASSERT_OK(f.run(ctx, s));
        EXPECT_EQ(live(), after_first) << "a repeated call must not allocate";
    }
    const uint64_t scratch = after_first - buffer_bytes;
    EXPECT_EQ(live(), scratch);  // buffers freed: only the context's scratch space remains
    // ones (P), xbar and v (B,C), s and logits (B,N), each padded to 64 floats
    EXPECT_LE(scratch, 4u * (s.P + 2 * s.B * s.C + 2 * s.B * s.N + 5 * 64));
    FG_ASSERT_OK(fg_context_free(ctx));  // frees the scratch space with the context
    Context fresh(GetParam());
    EXPECT_EQ(fresh.live_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, LocalLossTest, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return std::string(backend_name(info.param)); });
