// Batched GEMMs with a shared operand (Backend::gemm with stride 0), through the public ops that issue
// them: the token layer's forward / tangent GEMMs (W shared over the samples, transposed), its dX GEMM
// (W shared, not transposed) and the dense layer's X Wdot_k (X shared over the tangents, accumulating
// into the output). The CPU backend runs small entries (<= 2 MFLOP, m and k >= ~32) as one packed GEMM
// over the batch in chunks of 2 MiB of workspace and larger or thinner ones as a loop, so the sizes here
// take both sides: batch 1 and many, odd widths, batches that span several chunks (P = 32, C = 512: 16
// samples per chunk; P = 64, C = 200: 20 per chunk). Outputs are NaN-poisoned where beta = 0 must
// ignore them, and a guard region past each output must survive. Float64 oracles from forwardgrad.h.
#include <algorithm>
#include <cmath>

#include "test_util.h"

using namespace fgtest;

namespace {

constexpr float kGuard = 12345.0f;
constexpr int64_t kGuardFloats = 37;

// Y[s,q,c] = sum_p W[p,q] X[s,p,c] (+ b[q]); x is one (S, P, C) stack.
std::vector<double> token_forward(int64_t S, int64_t P, int64_t C, const float* x, const float* w, const float* b) {
    std::vector<double> y(S * P * C, 0.0);
    for (int64_t s = 0; s < S; ++s)
        for (int64_t p = 0; p < P; ++p)
            for (int64_t q = 0; q < P; ++q) {
                const double wpq = w[p * P + q];
                const float* xr = x + (s * P + p) * C;
                double* yr = y.data() + (s * P + q) * C;
                for (int64_t c = 0; c < C; ++c) yr[c] += wpq * xr[c];
            }
    if (b)
        for (int64_t s = 0; s < S; ++s)
            for (int64_t q = 0; q < P; ++q)
                for (int64_t c = 0; c < C; ++c) y[(s * P + q) * C + c] += b[q];
    return y;
}

// Y (R, m) = X (R, n) W (n, m) (+ b).
std::vector<double> dense_forward(int64_t R, int64_t n, int64_t m, const float* x, const float* w, const float* b) {
    std::vector<double> y(R * m, 0.0);
    for (int64_t r = 0; r < R; ++r)
        for (int64_t p = 0; p < n; ++p)
            for (int64_t j = 0; j < m; ++j) y[r * m + j] += double(x[r * n + p]) * w[p * m + j];
    if (b)
        for (int64_t r = 0; r < R; ++r)
            for (int64_t j = 0; j < m; ++j) y[r * m + j] += b[j];
    return y;
}

// An output buffer of `floats` plus a guard region; the outputs NaN-poisoned, the guard set to kGuard.
Buffer guarded_output(fg_context* c, int64_t floats) {
    Buffer out(c, (floats + kGuardFloats) * 4);
    out.poison();
    fg_buffer_fill_f32(out, floats, kGuardFloats, kGuard);
    return out;
}

::testing::AssertionResult guard_intact(const std::vector<float>& v, int64_t floats, const std::string& what) {
    for (int64_t i = floats; i < floats + kGuardFloats; ++i)
        if (v[i] != kGuard)
            return ::testing::AssertionFailure() << what << ": wrote past the output at " << i << " (" << v[i] << ")";
    return ::testing::AssertionSuccess();
}

std::vector<float> slice_of(const std::vector<float>& v, int64_t begin, int64_t count) {
    return std::vector<float>(v.begin() + begin, v.begin() + begin + count);
}

struct Token {
    int64_t S, P, C;
};

// Batch 1 (S = 1) and many; odd P and C; C = 1; packed (P >= 32, small C) and looped entries; batches
// spanning several packing chunks.
const Token kTokens[] = {{1, 5, 7},    {50, 7, 13},   {200, 3, 1},    {9, 64, 33},  {21, 33, 97},
                         {40, 32, 512}, {45, 64, 200}, {30, 64, 600}, {2, 1, 1},    {1, 64, 33}};

std::string token_label(int32_t backend, const Token& t) {
    return std::string(backend_name(backend)) + " token S=" + std::to_string(t.S) + " P=" + std::to_string(t.P) +
           " C=" + std::to_string(t.C);
}

}  // namespace

class BatchedGemmTest : public ::testing::TestWithParam<int32_t> {};

// The fused token JVP: W^T X[s] over (K+1) S samples (beta = 0 into a poisoned output), then, with
// wdot, Wdot_k^T X[s] accumulated (beta = 1) into each tangent's S samples.
TEST_P(BatchedGemmTest, TokenJvpMatchesFloat64Oracle) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    uint32_t seed = 7000;
    for (const Token& t : kTokens)
        for (int64_t K : {0, 1, 3})
            for (bool with_wdot : {false, true}) {
                if (K == 0 && with_wdot) continue;
                const int64_t rows = t.S * t.P, xs = rows * t.C, total = (K + 1) * xs;
                auto xx = random_vector(total, seed++);
                auto w = random_vector(t.P * t.P, seed++);
                auto b = random_vector(t.P, seed++);
                auto wdot = random_vector(std::max<int64_t>(K, 1) * t.P * t.P, seed++);
                Buffer XX(c, xx), W(c, w), Bb(c, b), WD(c, wdot);
                Buffer YY = guarded_output(c, total);
                FG_ASSERT_OK(fg_linear_jvp(c, FG_LAYER_TOKEN, rows, t.C, t.C, t.P, K, XX, W, Bb,
                                           with_wdot ? WD.buf : nullptr, YY));
                std::vector<double> want(total);
                for (int64_t k = 0; k <= K; ++k) {
                    auto y = token_forward(t.S, t.P, t.C, xx.data() + k * xs, w.data(), k == 0 ? b.data() : nullptr);
                    if (k > 0 && with_wdot) {
                        auto yw = token_forward(t.S, t.P, t.C, xx.data(), wdot.data() + (k - 1) * t.P * t.P, nullptr);
                        for (int64_t i = 0; i < xs; ++i) y[i] += yw[i];
                    }
                    std::copy(y.begin(), y.end(), want.begin() + k * xs);
                }
                const std::string what = token_label(GetParam(), t) + " K=" + std::to_string(K) +
                                         " wdot=" + std::to_string(with_wdot);
                auto got = YY.get();
                EXPECT_TRUE(all_close(got, want, 1e-4, 8e-5 * std::sqrt(double(2 * t.P)), what));
                EXPECT_TRUE(guard_intact(got, total, what));
            }
    EXPECT_EQ(c.live_bytes(), 0u);
}

// The token dX GEMM (W dY[s] over S samples, beta = 0 into a poisoned dx), with dW / db accumulated.
TEST_P(BatchedGemmTest, TokenInputGradientMatchesFloat64Oracle) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    uint32_t seed = 8000;
    for (const Token& t : kTokens)
        for (int32_t accumulate : {0, 1}) {
            const int64_t rows = t.S * t.P, xs = rows * t.C;
            auto x = random_vector(xs, seed++);
            auto w = random_vector(t.P * t.P, seed++);
            auto dy = random_vector(xs, seed++);
            auto dw0 = random_vector(t.P * t.P, seed++);
            auto db0 = random_vector(t.P, seed++);
            Buffer X(c, x), W(c, w), DY(c, dy), DW(c, dw0), DB(c, db0);
            Buffer DX = guarded_output(c, xs);
            if (!accumulate) {
                DW.poison();
                DB.poison();
            }
            FG_ASSERT_OK(fg_linear_backward(c, FG_LAYER_TOKEN, rows, t.C, t.C, t.P, X, W, DY, DX, DW, DB, accumulate));
            // dX[s,p,c] = sum_q W[p,q] dY[s,q,c]; dW[p,q] = sum_{s,c} X[s,p,c] dY[s,q,c]; db[q] = sum dY[s,q,c].
            std::vector<double> dx(xs, 0.0), dw(t.P * t.P, 0.0), db(t.P, 0.0);
            for (int64_t s = 0; s < t.S; ++s)
                for (int64_t p = 0; p < t.P; ++p)
                    for (int64_t q = 0; q < t.P; ++q)
                        for (int64_t ch = 0; ch < t.C; ++ch) {
                            const int64_t xi = (s * t.P + p) * t.C + ch, yi = (s * t.P + q) * t.C + ch;
                            dx[xi] += double(w[p * t.P + q]) * dy[yi];
                            dw[p * t.P + q] += double(x[xi]) * dy[yi];
                        }
            for (int64_t i = 0; i < xs; ++i) db[(i / t.C) % t.P] += dy[i];
            if (accumulate) {
                for (size_t i = 0; i < dw.size(); ++i) dw[i] += dw0[i];
                for (size_t i = 0; i < db.size(); ++i) db[i] += db0[i];
            }
            const std::string what = token_label(GetParam(), t) + " accumulate=" + std::to_string(accumulate);
            auto got = DX.get();
            EXPECT_TRUE(all_close(got, dx, 1e-4, 8e-5 * std::sqrt(double(t.P)), what + " dx"));
            EXPECT_TRUE(guard_intact(got, xs, what + " dx"));
            const double row_depth = double(t.S * t.C);
            EXPECT_TRUE(all_close(DW.get(), dw, 1e-4, 8e-5 * std::sqrt(row_depth), what + " dw"));
            EXPECT_TRUE(all_close(DB.get(), db, 1e-4, 8e-5 * std::sqrt(row_depth), what + " db"));
        }
}

// The dense JVP with wdot: X Wdot_k for k < K, X shared, accumulated (beta = 1) onto Xdot_k W. One
// row and one output makes the tangents' outputs adjacent; R, n >= 32 are packed; odd sizes otherwise.
TEST_P(BatchedGemmTest, DenseWeightTangentsMatchFloat64Oracle) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    struct Dense {
        int64_t R, n, m;
    };
    const Dense shapes[] = {{1, 1, 1}, {1, 5, 1}, {1, 33, 7}, {3, 5, 1}, {17, 33, 7}, {64, 48, 96}, {33, 65, 31}, {100, 1, 3}};
    uint32_t seed = 9000;
    for (const Dense& d : shapes)
        for (int64_t K : {1, 2, 5, 16}) {
            const int64_t xs = d.R * d.n, ys = d.R * d.m, total = (K + 1) * ys;
            auto xx = random_vector((K + 1) * xs, seed++);
            auto w = random_vector(d.n * d.m, seed++);
            auto b = random_vector(d.m, seed++);
            auto wdot = random_vector(K * d.n * d.m, seed++);
            Buffer XX(c, xx), W(c, w), Bb(c, b), WD(c, wdot);
            Buffer YY = guarded_output(c, total);
            FG_ASSERT_OK(fg_linear_jvp(c, FG_LAYER_DENSE, d.R, d.n, d.m, 1, K, XX, W, Bb, WD, YY));
            std::vector<double> want(total);
            for (int64_t k = 0; k <= K; ++k) {
                auto y = dense_forward(d.R, d.n, d.m, xx.data() + k * xs, w.data(), k == 0 ? b.data() : nullptr);
                if (k > 0) {
                    auto yw = dense_forward(d.R, d.n, d.m, xx.data(), wdot.data() + (k - 1) * d.n * d.m, nullptr);
                    for (int64_t i = 0; i < ys; ++i) y[i] += yw[i];
                }
                std::copy(y.begin(), y.end(), want.begin() + k * ys);
            }
            const std::string what = std::string(backend_name(GetParam())) + " dense R=" + std::to_string(d.R) +
                                     " n=" + std::to_string(d.n) + " m=" + std::to_string(d.m) +
                                     " K=" + std::to_string(K);
            auto got = YY.get();
            EXPECT_TRUE(all_close(got, want, 1e-4, 8e-5 * std::sqrt(double(2 * d.n)), what));
            EXPECT_TRUE(guard_intact(got, total, what));
        }
    EXPECT_EQ(c.live_bytes(), 0u);
}

// Many samples in one call (batched, packed) agree with the same samples one call each (batch 1).
TEST_P(BatchedGemmTest, TokenBatchAgreesWithPerSampleCalls) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    const int64_t S = 70, P = 32, C = 512, xs = P * C;
    auto x = random_vector(S * xs, 9900);
    auto w = random_vector(P * P, 9901);
    Buffer X(c, x), W(c, w), Y(c, S * xs * 4);
    FG_ASSERT_OK(fg_linear_jvp(c, FG_LAYER_TOKEN, S * P, C, C, P, 0, X, W, nullptr, nullptr, Y));
    auto all = Y.get();
    for (int64_t s = 0; s < S; s += 23) {
        Buffer Xs(c, slice_of(x, s * xs, xs)), Ys(c, xs * 4);
        FG_ASSERT_OK(fg_linear_jvp(c, FG_LAYER_TOKEN, P, C, C, P, 0, Xs, W, nullptr, nullptr, Ys));
        const std::vector<float> one = Ys.get();
        EXPECT_TRUE(all_close(std::vector<float>(all.begin() + s * xs, all.begin() + (s + 1) * xs), one, 1e-5, 1e-6,
                              "sample " + std::to_string(s)));
    }
}

// Group layers large enough that the CPU backend splits the G blocks into row chunks over its loop
// threads (>= 8 MFLOP, blocks at most 64 x 64): the fused JVP (beta = 0 into a poisoned output) and
// dX (dY W_g^T per block), against float64 oracles. Row counts leave partial chunks; 65-wide blocks
// stay on the plain path as a control.
TEST_P(BatchedGemmTest, LargeGroupLayerMatchesFloat64Oracle) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    struct Group {
        int64_t R, C, G;
    };
    const Group shapes[] = {{1003, 128, 4}, {517, 256, 4}, {700, 130, 2}, {2049, 512, 16}};
    uint32_t seed = 9500;
    for (const Group& s : shapes) {
        const int64_t K = 1, w = s.C / s.G, total = (K + 1) * s.R * s.C;
        auto xx = random_vector(total, seed++);
        auto wt = random_vector(s.G * w * w, seed++);
        auto b = random_vector(s.C, seed++);
        auto dy = random_vector(s.R * s.C, seed++);
        Buffer XX(c, xx), W(c, wt), Bb(c, b), DY(c, dy);
        Buffer YY = guarded_output(c, total), DX = guarded_output(c, s.R * s.C);
        FG_ASSERT_OK(fg_linear_jvp(c, FG_LAYER_GROUP, s.R, s.C, s.C, s.G, K, XX, W, Bb, nullptr, YY));
        FG_ASSERT_OK(fg_linear_backward(c, FG_LAYER_GROUP, s.R, s.C, s.C, s.G, nullptr, W, DY, DX, nullptr, nullptr, 0));
        std::vector<double> y(total, 0.0), dx(s.R * s.C, 0.0);
        for (int64_t r = 0; r < (K + 1) * s.R; ++r)
            for (int64_t g = 0; g < s.G; ++g)
                for (int64_t p = 0; p < w; ++p) {
                    const double xv = xx[r * s.C + g * w + p];
                    const float* wrow = wt.data() + (g * w + p) * w;  // W[g, p, :]
                    for (int64_t j = 0; j < w; ++j) y[r * s.C + g * w + j] += xv * wrow[j];
                }
        for (int64_t r = 0; r < s.R; ++r)
            for (int64_t ch = 0; ch < s.C; ++ch) y[r * s.C + ch] += b[ch];
        for (int64_t r = 0; r < s.R; ++r)
            for (int64_t g = 0; g < s.G; ++g)
                for (int64_t p = 0; p < w; ++p) {
                    double acc = 0;
                    for (int64_t j = 0; j < w; ++j) acc += double(wt[(g * w + p) * w + j]) * dy[r * s.C + g * w + j];
                    dx[r * s.C + g * w + p] = acc;
                }
        const std::string what = std::string(backend_name(GetParam())) + " group R=" + std::to_string(s.R) +
                                 " C=" + std::to_string(s.C) + " G=" + std::to_string(s.G);
        auto got_y = YY.get(), got_dx = DX.get();
        EXPECT_TRUE(all_close(got_y, y, 1e-4, 8e-5 * std::sqrt(double(w)), what + " y"));
        EXPECT_TRUE(guard_intact(got_y, total, what + " y"));
        EXPECT_TRUE(all_close(got_dx, dx, 1e-4, 8e-5 * std::sqrt(double(w)), what + " dx"));
        EXPECT_TRUE(guard_intact(got_dx, s.R * s.C, what + " dx"));
    }
    EXPECT_EQ(c.live_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, BatchedGemmTest, ::testing::ValuesIn(all_backends()),
                         [](const ::testing::TestParamInfo<int32_t>& i) { return std::string(backend_name(i.param)); });
