// LayerNorm without affine parameters (eps 1e-5) beyond the op table's oracle cases
// (ops_table/cases_elementwise.cpp): the forward pass at a large mean, JVP and VJP against central
// finite differences of a float64 LayerNorm, the adjoint identity <JVP v, w> = <v, VJP w>,
// in-place tangents, and argument errors.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "op_table.h"
#include "test_util.h"

using namespace fgtest;

namespace {

constexpr double kEps = 1e-5;

// One row of the float64 oracle: y = (x - mean) / sqrt(var + eps).
void ln_row(int64_t dim, const double* x, double* y, double* mean_out = nullptr, double* rstd_out = nullptr) {
    double mean = 0;
    for (int64_t i = 0; i < dim; ++i) mean += x[i];
    mean /= double(dim);
    double var = 0;
    for (int64_t i = 0; i < dim; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= double(dim);
    const double rstd = 1.0 / std::sqrt(var + kEps);
    for (int64_t i = 0; i < dim; ++i) y[i] = (x[i] - mean) * rstd;
    if (mean_out) *mean_out = mean;
    if (rstd_out) *rstd_out = rstd;
}

// Central difference of row r's LN along direction t: (LN(x + h t) - LN(x - h t)) / 2h.
std::vector<double> ln_row_fd(int64_t dim, const double* x, const double* t) {
    const double h = 1e-5;
    std::vector<double> xp(dim), xm(dim), yp(dim), ym(dim), out(dim);
    for (int64_t i = 0; i < dim; ++i) {
        xp[i] = x[i] + h * t[i];
        xm[i] = x[i] - h * t[i];
    }
    ln_row(dim, xp.data(), yp.data());
    ln_row(dim, xm.data(), ym.data());
    for (int64_t i = 0; i < dim; ++i) out[i] = (yp[i] - ym[i]) / (2 * h);
    return out;
}

double dot(const std::vector<float>& a, const std::vector<float>& b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
    return s;
}

double norm(const std::vector<float>& a, size_t n) { return std::sqrt(dot(a, a, n)); }

std::string shape(int32_t backend, int64_t rows, int64_t dim, int64_t k = -1) {
    std::string s = std::string(backend_name(backend)) + " rows=" + std::to_string(rows) +
                    " dim=" + std::to_string(dim);
    if (k >= 0) s += " K=" + std::to_string(k);
    return s;
}

const int64_t kDims[] = {1, 3, 17, 512, 2049};
const int64_t kRows[] = {1, 5, 300};

}  // namespace

class LayerNormTest : public ::testing::TestWithParam<int32_t> {};

TEST_P(LayerNormTest, ForwardIsStableForALargeMean) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const int64_t rows = 7, dim = 2049;
    auto x = random_vector(rows * dim, 77, 1.0f);
    for (auto& v : x) v += 1000.0f;  // E[x^2] - E[x]^2 in float would lose every digit here
    Buffer X(c, x), Y(c, rows * dim * 4), M(c, rows * 4), R(c, rows * 4);
    Y.poison();
    FG_ASSERT_OK(fg_layernorm_forward(c, rows, dim, X, Y, M, R));
    std::vector<double> y(rows * dim), xd = to_double(x);
    for (int64_t r = 0; r < rows; ++r) ln_row(dim, &xd[r * dim], &y[r * dim]);
    EXPECT_TRUE(all_close(Y.get(), y, 1e-3, 5e-4, shape(GetParam(), rows, dim)));
}

TEST_P(LayerNormTest, JvpMatchesFiniteDifferences) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    uint32_t seed = 100;
    for (int64_t dim : kDims)
        for (int64_t rows : kRows)
            for (int64_t K : {0, 1, 3}) {
                auto x = optable::ln_input(rows, dim, seed++);
                auto xdot = random_vector(std::max<int64_t>(K, 1) * rows * dim, seed++);
                Buffer X(c, x), Y(c, rows * dim * 4), M(c, rows * 4), R(c, rows * 4);
                Buffer XD(c, xdot), YD(c, xdot.size() * 4);
                FG_ASSERT_OK(fg_layernorm_forward(c, rows, dim, X, Y, M, R));
                YD.poison();
                FG_ASSERT_OK(fg_layernorm_jvp(c, rows, dim, K, Y, R, XD, YD));
                const std::string label = shape(GetParam(), rows, dim, K);
                if (K == 0) {  // nothing to compute: ydot untouched
                    for (float v : YD.get()) ASSERT_TRUE(std::isnan(v)) << label;
                    continue;
                }
                std::vector<double> want(K * rows * dim), xd = to_double(x), td = to_double(xdot);
                for (int64_t k = 0; k < K; ++k)
                    for (int64_t r = 0; r < rows; ++r) {
                        auto fd = ln_row_fd(dim, &xd[r * dim], &td[(k * rows + r) * dim]);
                        std::copy(fd.begin(), fd.end(), want.begin() + (k * rows + r) * dim);
                    }
                EXPECT_TRUE(all_close(YD.get(), want, 1e-4, 1e-5, label));
            }
}

TEST_P(LayerNormTest, JvpInPlaceMatchesOutOfPlace) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const int64_t rows = 33, dim = 48, K = 3;
    auto x = optable::ln_input(rows, dim, 5);
    auto xdot = random_vector(K * rows * dim, 6);
    Buffer X(c, x), Y(c, rows * dim * 4), M(c, rows * 4), R(c, rows * 4), XD(c, xdot), YD(c, xdot.size() * 4);
    FG_ASSERT_OK(fg_layernorm_forward(c, rows, dim, X, Y, M, R));
    YD.poison();
    FG_ASSERT_OK(fg_layernorm_jvp(c, rows, dim, K, Y, R, XD, YD));
    FG_ASSERT_OK(fg_layernorm_jvp(c, rows, dim, K, Y, R, XD, XD));
    EXPECT_EQ(XD.get(), YD.get());
}

TEST_P(LayerNormTest, VjpMatchesFiniteDifferencesAndIsTheAdjointOfTheJvp) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    uint32_t seed = 500;
    for (int64_t dim : kDims)
        for (int64_t rows : kRows) {
            const int64_t K = 3;
            auto x = optable::ln_input(rows, dim, seed++);
            auto dy = random_vector(rows * dim, seed++);
            auto v = random_vector(K * rows * dim, seed++);
            Buffer X(c, x), Y(c, rows * dim * 4), M(c, rows * 4), R(c, rows * 4), DY(c, dy), DX(c, rows * dim * 4);
            Buffer V(c, v), JV(c, v.size() * 4);
            FG_ASSERT_OK(fg_layernorm_forward(c, rows, dim, X, Y, M, R));
            DX.poison();
            FG_ASSERT_OK(fg_layernorm_vjp(c, rows, dim, Y, R, DY, DX));
            JV.poison();
            FG_ASSERT_OK(fg_layernorm_jvp(c, rows, dim, K, Y, R, V, JV));
            const std::string label = shape(GetParam(), rows, dim);
            auto dx = DX.get();
            auto jv = JV.get();

            // The gradient of phi(x) = <dy, LN(x)>, by central differences element by element
            // (each costs a row's forward, so only where that stays cheap).
            if (rows * dim * dim <= 30'000'000) {
                std::vector<double> want(rows * dim), xd = to_double(x), e(dim, 0.0);
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t i = 0; i < dim; ++i) {
                        e[i] = 1.0;
                        auto fd = ln_row_fd(dim, &xd[r * dim], e.data());
                        e[i] = 0.0;
                        double g = 0;
                        for (int64_t j = 0; j < dim; ++j) g += dy[r * dim + j] * fd[j];
                        want[r * dim + i] = g;
                    }
                EXPECT_TRUE(all_close(dx, want, 1e-4, 1e-5, label + " vjp vs finite differences"));
            }

            // <JVP(v_k), dy> = <v_k, VJP(dy)> for every tangent k.
            const size_t n = rows * dim;
            for (int64_t k = 0; k < K; ++k) {
                std::vector<float> vk(v.begin() + k * n, v.begin() + (k + 1) * n);
                std::vector<float> jvk(jv.begin() + k * n, jv.begin() + (k + 1) * n);
                const double lhs = dot(jvk, dy, n), rhs = dot(vk, dx, n);
                const double scale = norm(jvk, n) * norm(dy, n) + norm(vk, n) * norm(dx, n) + 1e-30;
                EXPECT_NEAR(lhs, rhs, 1e-5 * scale) << label << " k=" << k;
            }
        }
    EXPECT_EQ(c.live_bytes(), 0u);
}

TEST_P(LayerNormTest, VjpInPlace) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const int64_t rows = 9, dim = 100;
    auto x = optable::ln_input(rows, dim, 8);
    auto dy = random_vector(rows * dim, 9);
    Buffer X(c, x), Y(c, rows * dim * 4), M(c, rows * 4), R(c, rows * 4), DY(c, dy), DX(c, rows * dim * 4);
    FG_ASSERT_OK(fg_layernorm_forward(c, rows, dim, X, Y, M, R));
    DX.poison();
    FG_ASSERT_OK(fg_layernorm_vjp(c, rows, dim, Y, R, DY, DX));
    FG_ASSERT_OK(fg_layernorm_vjp(c, rows, dim, Y, R, DY, DY));
    EXPECT_EQ(DY.get(), DX.get());
}

TEST_P(LayerNormTest, RejectsBadArgumentsWithAMessage) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam()), other(GetParam());
    const int64_t rows = 4, dim = 8;
    Buffer X(c, optable::ln_input(rows, dim, 3)), Y(c, rows * dim * 4), M(c, rows * 4), R(c, rows * 4);
    Buffer small(c, rows * dim * 4 - 4), foreign(other, rows * dim * 4), XD(c, 2 * rows * dim * 4);
    auto expect_error = [](fg_status s, const char* needle) {
        EXPECT_EQ(s, FG_ERR_INVALID_ARGUMENT) << fg_status_string(s);
        EXPECT_NE(std::string(fg_last_error()).find(needle), std::string::npos) << fg_last_error();
    };
    expect_error(fg_layernorm_forward(nullptr, rows, dim, X, Y, M, R), "context is NULL");
    expect_error(fg_layernorm_forward(c, 0, dim, X, Y, M, R), "rows must be >= 1 (got 0)");
    expect_error(fg_layernorm_forward(c, rows, -2, X, Y, M, R), "dim must be >= 1 (got -2)");
    expect_error(fg_layernorm_forward(c, rows, dim, nullptr, Y, M, R), "x is NULL");
    expect_error(fg_layernorm_forward(c, rows, dim, X, small, M, R), "y is too small");
    expect_error(fg_layernorm_forward(c, rows, dim, X, Y, M, nullptr), "rstd is NULL");
    expect_error(fg_layernorm_forward(c, rows, dim, foreign, Y, M, R), "x belongs to another context");
    expect_error(fg_layernorm_forward(c, rows + 1, dim, X, Y, M, R), "x is too small");
    FG_ASSERT_OK(fg_layernorm_forward(c, rows, dim, X, Y, M, R));
    expect_error(fg_layernorm_jvp(c, rows, dim, -1, Y, R, XD, XD), "tangents must be >= 0 (got -1)");
    expect_error(fg_layernorm_jvp(c, rows, dim, 3, Y, R, XD, XD), "xdot is too small");
    expect_error(fg_layernorm_jvp(c, rows, dim, 2, Y, R, XD, nullptr), "ydot is NULL");
    expect_error(fg_layernorm_jvp(c, rows, dim, 1, Y, R, XD, foreign), "ydot belongs to another context");
    expect_error(fg_layernorm_vjp(c, rows, dim, Y, R, small, Y), "dy is too small");
    expect_error(fg_layernorm_vjp(c, rows, dim, Y, nullptr, X, Y), "rstd is NULL");
    expect_error(fg_layernorm_vjp(c, rows, dim, Y, R, X, foreign), "dx belongs to another context");
}

INSTANTIATE_TEST_SUITE_P(Backends, LayerNormTest, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return std::string(backend_name(info.param)); });

namespace {

// The CPU backend's LayerNorm arithmetic, written out element by element: sums in double over eight lanes
// (element i in lane i mod 8; the elements past the last whole eight first, then lanes 0..7, into s = 0), the
// squares and y * b taken by a multiply-add that rounds once where the build targets FMA (this file is built for
// the library's CPU target, tests/native/CMakeLists.txt). The backend takes several rows at a time; every value
// must still be this one, bit for bit.
template <class T>
T mul_add(T a, T b, T c) {
#if defined(__FMA__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}

template <class Step>
double eight_lane_fold(int64_t n, Step step) {
    double lanes[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int64_t l = 0; l < 8; ++l) lanes[l] = step(lanes[l], i + l);
    double s = 0;
    for (; i < n; ++i) s = step(s, i);
    for (double lane : lanes) s += lane;
    return s;
}

void exact_forward_row(int64_t n, const float* x, float* y, float& mean, float& rstd) {
    const double mu = eight_lane_fold(n, [&](double s, int64_t i) { return s + double(x[i]); }) / double(n);
    const double var = eight_lane_fold(n, [&](double s, int64_t i) {
                           const double c = double(x[i]) - mu;
                           return mul_add(c, c, s);
                       }) / double(n);
    const double rs = 1.0 / std::sqrt(var + double(FG_LN_EPS));
    for (int64_t i = 0; i < n; ++i) y[i] = float((double(x[i]) - mu) * rs);
    mean = float(mu);
    rstd = float(rs);
}

void exact_project_row(int64_t n, const float* y, float rstd, const float* dy, float* dx) {
    const float a = float(eight_lane_fold(n, [&](double s, int64_t i) { return s + double(dy[i]); }) / double(n));
    const float b = float(eight_lane_fold(n, [&](double s, int64_t i) { return s + double(y[i]) * double(dy[i]); }) /
                          double(n));
    for (int64_t i = 0; i < n; ++i) dx[i] = rstd * mul_add(-y[i], b, dy[i] - a);
}

// Magnitudes from 1e-6 to 1e6: the double sums round, so the order of the adds shows in the results.
std::vector<float> wide_range(size_t n, uint32_t seed) {
    std::vector<float> v = random_vector(n, seed);
    const std::vector<float> e = random_vector(n, seed + 100, 6.0f);
    for (size_t i = 0; i < n; ++i) v[i] *= std::pow(10.0f, std::round(e[i]));
    return v;
}

// Bit-level equality, naming the first element that differs.
void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i)
        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
            ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", the exact arithmetic gives " << want[i];
            return;
        }
}

}  // namespace

// Widths that are whole vectors of lanes (8, 32: a group LN's, 512) and ones that are not; row counts that leave
// every remainder of the backend's groups of eight and four rows; values over twelve decades and an offset mean.
TEST(LayerNormCpu, EveryRowIsTheDocumentedArithmeticBitForBit) {
    Context c(FG_BACKEND_CPU);
    constexpr int64_t K = 3;
    for (int64_t dim : {1, 8, 13, 32, 40, 100, 512}) {
        for (int64_t rows : {1, 3, 4, 7, 8, 9, 12, 19, 45}) {
            const std::string where = "rows=" + std::to_string(rows) + " dim=" + std::to_string(dim);
            std::vector<float> x = wide_range(static_cast<size_t>(rows * dim), 11);
            for (size_t i = 0; i < x.size(); ++i) x[i] += 40.0f;
            const std::vector<float> xdot = wide_range(static_cast<size_t>(K * rows * dim), 12);
            const std::vector<float> dy = wide_range(static_cast<size_t>(rows * dim), 13);
            std::vector<float> y(x.size()), mean(rows), rstd(rows), ydot(xdot.size()), dx(dy.size());
            for (int64_t r = 0; r < rows; ++r) exact_forward_row(dim, &x[r * dim], &y[r * dim], mean[r], rstd[r]);
            for (int64_t j = 0; j < K * rows; ++j)
                exact_project_row(dim, &y[(j % rows) * dim], rstd[j % rows], &xdot[j * dim], &ydot[j * dim]);
            for (int64_t r = 0; r < rows; ++r) exact_project_row(dim, &y[r * dim], rstd[r], &dy[r * dim], &dx[r * dim]);

            Buffer X(c, x), Y(c, y.size() * 4), M(c, rows * 4), R(c, rows * 4), XD(c, xdot), YD(c, xdot.size() * 4);
            Buffer DY(c, dy), DX(c, dy.size() * 4);
            FG_ASSERT_OK(fg_layernorm_forward(c, rows, dim, X, Y, M, R));
            expect_same_bits(Y.get(), y, "forward y, " + where);
            expect_same_bits(M.get(), mean, "forward mean, " + where);
            expect_same_bits(R.get(), rstd, "forward rstd, " + where);
            FG_ASSERT_OK(fg_layernorm_jvp(c, rows, dim, K, Y, R, XD, YD));
            expect_same_bits(YD.get(), ydot, "jvp, " + where);
            FG_ASSERT_OK(fg_layernorm_vjp(c, rows, dim, Y, R, DY, DX));
            expect_same_bits(DX.get(), dx, "vjp, " + where);
        }
    }
}
