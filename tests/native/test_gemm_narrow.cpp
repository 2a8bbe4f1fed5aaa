// Narrow GEMMs (native/src/cpu/gemm_narrow.h): on a CPU with AVX-512 the CPU backend runs GEMMs of >= 4 MFLOP
// on its own kernels in three forms: rows (16 to 64 output columns, C = A op(B), k <= 64), dW (16 to 64 output
// columns, C = A^T B summed over many rows, m <= 64) and panels (op(A) at most 64 x 64, B wide, in 64-column
// panels). Through fg_gemm, against a float64 oracle, with
// transposed B, alpha and beta of every sign, heights and widths that leave partial tiles, a control shape
// the kernels do not take, and the promise that no result depends on the loop-thread count. Elsewhere
// (FG_NARROW_GEMM=0, no AVX-512, CUDA) the same shapes go to the provider and must pass just the same.
#include <cmath>
#include <string>

#include "test_util.h"

using namespace fgtest;

namespace {

struct NarrowCase {
    bool trans_a, trans_b;
    int64_t m, n, k;
    float alpha, beta;
};

// Rows form: tall A, a narrow k x n B. dW form: A (k, m) and B (k, n) over k rows, C (m, n).
const NarrowCase kCases[] = {
    {false, false, 5003, 16, 64, 1.0f, 0.0f},   {false, true, 4099, 32, 32, 0.5f, -1.25f},
    {false, false, 3001, 48, 17, -2.0f, 0.75f}, {false, true, 2500, 64, 64, 1.0f, 1.0f},
    {true, false, 32, 32, 20011, 1.0f, 0.0f},   {true, false, 64, 64, 6400, 0.25f, 1.0f},
    {true, false, 17, 48, 9000, 1.0f, -0.5f},   {true, false, 5, 16, 70001, -1.0f, 0.0f},
    {false, false, 64, 512, 64, 1.0f, 0.0f},    {true, false, 64, 528, 64, 0.5f, 1.0f},  // panel form: small op(A),
    {true, false, 50, 1024, 64, -1.0f, 0.25f},                                            // wide B, 64 columns a panel
    {false, false, 4000, 40, 40, 1.0f, 0.0f},  // 40 columns: not a narrow width, the provider's
};

std::string label(const NarrowCase& s) {
    return std::string(s.trans_a ? "T" : "N") + (s.trans_b ? "T" : "N") + " m=" + std::to_string(s.m) +
           " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " alpha=" + std::to_string(s.alpha) +
           " beta=" + std::to_string(s.beta);
}

struct Operands {
    std::vector<float> a, b, c;
};

Operands operands(const NarrowCase& s, uint32_t seed) {
    return {random_vector(s.m * s.k, seed), random_vector(s.k * s.n, seed + 1), random_vector(s.m * s.n, seed + 2)};
}

// C = alpha op(A) op(B) + beta C in float64; A is (m, k) or (k, m), B (k, n) or (n, k).
std::vector<double> oracle(const NarrowCase& s, const Operands& o) {
    std::vector<double> c(s.m * s.n);
    for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
            double acc = 0;
            for (int64_t p = 0; p < s.k; ++p) {
                const double a = s.trans_a ? o.a[p * s.m + i] : o.a[i * s.k + p];
                const double b = s.trans_b ? o.b[j * s.k + p] : o.b[p * s.n + j];
                acc += a * b;
            }
            c[i * s.n + j] = s.alpha * acc + (s.beta == 0.0f ? 0.0 : s.beta * double(o.c[i * s.n + j]));
        }
    return c;
}

// Runs the case on `ctx`; beta == 0 starts from NaNs, which must not leak into C.
std::vector<float> run(fg_context* ctx, const NarrowCase& s, const Operands& o) {
    Buffer A(ctx, o.a), B(ctx, o.b), C(ctx, o.c);
    if (s.beta == 0.0f) C.poison();
    EXPECT_EQ(fg_gemm(ctx, s.trans_a, s.trans_b, s.m, s.n, s.k, s.alpha, A, B, s.beta, C), FG_OK) << fg_last_error();
    return C.get();
}

class NarrowGemmTest : public ::testing::TestWithParam<int32_t> {};

TEST_P(NarrowGemmTest, MatchesFloat64Oracle) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    uint32_t seed = 7100;
    for (const NarrowCase& s : kCases) {
        const Operands o = operands(s, seed += 3);
        // float32 sums of k products of values in [-1, 1]: rounding grows like sqrt(k)
        const double atol = 2e-6 * std::sqrt(double(s.k)) * (1.0 + std::fabs(s.alpha));
        EXPECT_TRUE(all_close(run(c, s, o), oracle(s, o), 1e-5, atol, std::string(backend_name(GetParam())) + " " + label(s)));
    }
    EXPECT_EQ(c.live_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, NarrowGemmTest, ::testing::ValuesIn(all_backends()),
                         [](const ::testing::TestParamInfo<int32_t>& i) { return std::string(backend_name(i.param)); });

// The dW form splits its rows into chunks fixed by the shape and adds their partial sums in chunk order,
// and the rows form gives each output element one sum: any loop-thread count gives the same bits.
TEST(NarrowGemm, ResultsAreIdenticalForAnyLoopThreadCount) {
    auto one = cpu_context_with_env("FG_CPU_LOOP_THREADS", "1");
    ASSERT_NE(one->ctx, nullptr) << fg_last_error();
    uint32_t seed = 7300;
    for (const NarrowCase& s : kCases) {
        const Operands o = operands(s, seed += 3);
        const std::vector<float> want = run(*one, s, o);
        for (int threads : {2, 3, 5}) {
            auto many = cpu_context_with_env("FG_CPU_LOOP_THREADS", std::to_string(threads));
            EXPECT_TRUE(bit_identical(run(*many, s, o), want, label(s) + ", " + std::to_string(threads) + " threads"));
        }
    }
}

}  // namespace

namespace {

// A group layer's weight and bias gradients (dW[g] = X_g^T dY_g over all rows, one narrow GEMM per group in one
// batched call) against a float64 oracle, for row counts that take one and several of the dW form's row chunks,
// and accumulating into an existing gradient.
TEST_P(NarrowGemmTest, GroupLayerWeightGradientMatchesFloat64Oracle) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    struct Group {
        int64_t R, C, G;
        int32_t accumulate;
    };
    const Group shapes[] = {{256, 512, 16, 0}, {2100, 512, 16, 0}, {3003, 256, 4, 1}, {6400, 512, 16, 1}, {70001, 64, 2, 0}};
    uint32_t seed = 7700;
    for (const Group& s : shapes) {
        const int64_t w = s.C / s.G;
        auto x = random_vector(s.R * s.C, seed++), dy = random_vector(s.R * s.C, seed++);
        auto wt = random_vector(s.G * w * w, seed++), dw0 = random_vector(s.G * w * w, seed++), db0 = random_vector(s.C, seed++);
        Buffer X(c, x), W(c, wt), DY(c, dy), DW(c, dw0), DB(c, db0);
        if (!s.accumulate) DW.poison(), DB.poison();
        FG_ASSERT_OK(fg_linear_backward(c, FG_LAYER_GROUP, s.R, s.C, s.C, s.G, X, W, DY, nullptr, DW, DB, s.accumulate));
        std::vector<double> dw(s.G * w * w), db(s.C);
        for (size_t i = 0; i < dw.size(); ++i) dw[i] = s.accumulate ? dw0[i] : 0.0;
        for (int64_t ch = 0; ch < s.C; ++ch) db[ch] = s.accumulate ? db0[ch] : 0.0;
        for (int64_t r = 0; r < s.R; ++r)
            for (int64_t g = 0; g < s.G; ++g)
                for (int64_t p = 0; p < w; ++p) {
                    const double xv = x[r * s.C + g * w + p];
                    double* row = dw.data() + (g * w + p) * w;  // dW[g, p, :]
                    for (int64_t j = 0; j < w; ++j) row[j] += xv * dy[r * s.C + g * w + j];
                }
        for (int64_t r = 0; r < s.R; ++r)
            for (int64_t ch = 0; ch < s.C; ++ch) db[ch] += dy[r * s.C + ch];
        const std::string what = std::string(backend_name(GetParam())) + " group dW R=" + std::to_string(s.R) +
                                 " C=" + std::to_string(s.C) + " G=" + std::to_string(s.G);
        const double atol = 4e-6 * std::sqrt(double(s.R));
        EXPECT_TRUE(all_close(DW.get(), dw, 1e-5, atol, what + " dW"));
        EXPECT_TRUE(all_close(DB.get(), db, 1e-5, atol, what + " db"));
    }
    EXPECT_EQ(c.live_bytes(), 0u);
}

}  // namespace
