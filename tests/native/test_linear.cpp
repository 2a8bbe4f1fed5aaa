// Linear layers (dense, group, token mixing) beyond the op table's float64-oracle cases
// (ops_table/cases_linear.cpp): central finite differences of the library's own forward pass, only the
// requested gradients written, the adjoint identity <J xdot, w> = <xdot, J^T w>, argument errors and
// live bytes. Every case runs on every backend.
#include <algorithm>

#include "oracle.h"
#include "test_util.h"

using namespace fgtest;

namespace {

using Shape = oracle::Layer;

const char* kind_name(int32_t kind) {
    return kind == FG_LAYER_DENSE ? "dense" : kind == FG_LAYER_GROUP ? "group" : "token";
}

std::string label(int32_t backend, const Shape& s) {
    return std::string(backend_name(backend)) + " " + kind_name(s.kind) + " rows=" + std::to_string(s.rows) +
           " n=" + std::to_string(s.n) + " m=" + std::to_string(s.m) + " groups=" + std::to_string(s.groups);
}

// Sizes 1, odd, and larger than a GEMM tile; widths 1..300.
const Shape kShapes[] = {
    {FG_LAYER_DENSE, 1, 1, 1, 1},     {FG_LAYER_DENSE, 7, 5, 3, 1},        {FG_LAYER_DENSE, 129, 300, 17, 1},
    {FG_LAYER_DENSE, 33, 64, 257, 1}, {FG_LAYER_GROUP, 1, 2, 2, 2},        {FG_LAYER_GROUP, 7, 48, 32, 16},
    {FG_LAYER_GROUP, 129, 60, 300, 3}, {FG_LAYER_GROUP, 5, 9, 6, 1},       {FG_LAYER_TOKEN, 1, 1, 1, 1},
    {FG_LAYER_TOKEN, 21, 5, 5, 7},    {FG_LAYER_TOKEN, 128, 33, 33, 64},   {FG_LAYER_TOKEN, 129, 300, 300, 3},
};

int64_t weight_count(const Shape& s) { return s.weights(); }
int64_t bias_count(const Shape& s) { return s.biases(); }
// Terms summed per output element (sets the float32 tolerance).
int64_t depth(const Shape& s) { return s.depth_y(); }

struct Grads {
    std::vector<double> dx, dw, db;
};

// dX = dY W^T, dW = X^T dY, db = sum dY from the float64 oracle of the layer.
Grads backward_oracle(const Shape& s, const std::vector<float>& x, const std::vector<float>& w,
                      const std::vector<float>& dy) {
    Grads g;
    s.backward(to_double(x), to_double(dy), g.dw, g.db);
    for (int64_t xi = 0; xi < s.rows * s.n; ++xi) g.dx.push_back(s.dx(w.data(), dy.data(), xi));
    return g;
}

double dot(const std::vector<float>& a, const std::vector<float>& b, size_t count) {
    double s = 0;
    for (size_t i = 0; i < count; ++i) s += double(a[i]) * b[i];
    return s;
}

std::vector<float> slice(const std::vector<float>& v, size_t begin, size_t count) {
    return std::vector<float>(v.begin() + begin, v.begin() + begin + count);
}

}  // namespace

class LinearTest : public ::testing::TestWithParam<int32_t> {};

// (Y(x + h xdot, w + h wdot) - Y(x - h xdot, w - h wdot)) / 2h from the library's own K = 0 forward
// pass, in float64 from float32 outputs, against the tangents of the fused JVP.
TEST_P(LinearTest, JvpMatchesCentralFiniteDifferences) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    const int64_t K = 2;
    const float h = 0.05f;
    uint32_t seed = 300;
    for (const Shape& s : kShapes) {
        const int64_t xs = s.rows * s.n, ys = s.rows * s.m, wc = weight_count(s);
        auto xx = random_vector((K + 1) * xs, seed++);
        auto w = random_vector(wc, seed++);
        auto b = random_vector(bias_count(s), seed++);
        auto wdot = random_vector(K * wc, seed++);
        Buffer XX(c, xx), W(c, w), Bb(c, b), WD(c, wdot), YY(c, (K + 1) * ys * 4);
        YY.poison();
        FG_ASSERT_OK(fg_linear_jvp(c, s.kind, s.rows, s.n, s.m, s.groups, K, XX, W, Bb, WD, YY));
        auto yy = YY.get();
        for (int64_t k = 1; k <= K; ++k) {
            std::vector<float> y_side[2];
            for (int side = 0; side < 2; ++side) {
                const float sign = side == 0 ? 1.0f : -1.0f;
                std::vector<float> x(xs), wp(wc);
                for (int64_t i = 0; i < xs; ++i) x[i] = xx[i] + sign * h * xx[k * xs + i];
                for (int64_t i = 0; i < wc; ++i) wp[i] = w[i] + sign * h * wdot[(k - 1) * wc + i];
                Buffer X(c, x), Wp(c, wp), Y(c, ys * 4);
                Y.poison();
                FG_ASSERT_OK(fg_linear_jvp(c, s.kind, s.rows, s.n, s.m, s.groups, 0, X, Wp, Bb, nullptr, Y));
                y_side[side] = Y.get();
            }
            std::vector<double> fd(ys);
            for (int64_t i = 0; i < ys; ++i) fd[i] = (double(y_side[0][i]) - y_side[1][i]) / (2.0 * h);
            EXPECT_TRUE(all_close(slice(yy, k * ys, ys), fd, 1e-3, 2e-5 * std::sqrt(double(depth(s))) / h,
                                  label(GetParam(), s) + " tangent " + std::to_string(k)));
        }
    }
    EXPECT_EQ(c.live_bytes(), 0u);
}

// Only the requested gradients are written; x is needed only for dW, w only for dX.
TEST_P(LinearTest, BackwardComputesOnlyRequestedOutputs) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    uint32_t seed = 700;
    for (const Shape& s : kShapes) {
        auto x = random_vector(s.rows * s.n, seed++);
        auto w = random_vector(weight_count(s), seed++);
        auto dy = random_vector(s.rows * s.m, seed++);
        Buffer X(c, x), W(c, w), DY(c, dy), DX(c, s.rows * s.n * 4), DW(c, weight_count(s) * 4),
            DB(c, bias_count(s) * 4);
        Grads want = backward_oracle(s, x, w, dy);
        const std::string what = label(GetParam(), s);
        DX.poison();
        FG_ASSERT_OK(fg_linear_backward(c, s.kind, s.rows, s.n, s.m, s.groups, nullptr, W, DY, DX, nullptr, nullptr, 0));
        EXPECT_TRUE(all_close(DX.get(), want.dx, 1e-4, 1e-3, what + " dx only"));
        DW.poison();
        FG_ASSERT_OK(fg_linear_backward(c, s.kind, s.rows, s.n, s.m, s.groups, X, nullptr, DY, nullptr, DW, nullptr, 0));
        EXPECT_TRUE(all_close(DW.get(), want.dw, 1e-4, 1e-3, what + " dw only"));
        DB.poison();
        FG_ASSERT_OK(
            fg_linear_backward(c, s.kind, s.rows, s.n, s.m, s.groups, nullptr, nullptr, DY, nullptr, nullptr, DB, 0));
        EXPECT_TRUE(all_close(DB.get(), want.db, 1e-4, 1e-3, what + " db only"));
    }
}

// <JVP(xdot), w> = <xdot, VJP(w)> for the input of the layer (wdot = 0, no bias in the tangent).
TEST_P(LinearTest, AdjointIdentityForInputGradient) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    uint32_t seed = 900;
    for (const Shape& s : kShapes) {
        const int64_t xs = s.rows * s.n, ys = s.rows * s.m;
        auto xx = random_vector(2 * xs, seed++);
        auto w = random_vector(weight_count(s), seed++);
        auto b = random_vector(bias_count(s), seed++);
        auto cot = random_vector(ys, seed++);
        Buffer XX(c, xx), W(c, w), Bb(c, b), YY(c, 2 * ys * 4), COT(c, cot), DX(c, xs * 4);
        YY.poison();
        DX.poison();
        FG_ASSERT_OK(fg_linear_jvp(c, s.kind, s.rows, s.n, s.m, s.groups, 1, XX, W, Bb, nullptr, YY));
        FG_ASSERT_OK(fg_linear_backward(c, s.kind, s.rows, s.n, s.m, s.groups, nullptr, W, COT, DX, nullptr, nullptr, 0));
        const double lhs = dot(slice(YY.get(), ys, ys), cot, ys);
        const double rhs = dot(slice(xx, xs, xs), DX.get(), xs);
        EXPECT_NEAR(lhs, rhs, 1e-5 * std::sqrt(double(ys) * depth(s)) * 4 + 1e-5 * std::fabs(lhs))
            << label(GetParam(), s);
    }
}

TEST_P(LinearTest, BadArgumentsAreRejectedWithAMessage) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam()), other(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    auto v = random_vector(4096, 1);
    Buffer A(c, v), B(c, v), Y(c, v), Small(c, 16), Foreign(other, v);
    auto expect_invalid = [](fg_status s, const std::string& fragment) {
        EXPECT_EQ(s, FG_ERR_INVALID_ARGUMENT) << fragment;
        EXPECT_NE(std::string(fg_last_error()).find(fragment), std::string::npos)
            << "message '" << fg_last_error() << "' does not mention '" << fragment << "'";
    };
    // Shapes.
    expect_invalid(fg_linear_jvp(c, 7, 4, 8, 8, 1, 0, A, B, nullptr, nullptr, Y), "kind");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 2, 0, A, B, nullptr, nullptr, Y),
                   "groups must be 1 for FG_LAYER_DENSE");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_GROUP, 4, 10, 8, 4, 0, A, B, nullptr, nullptr, Y),
                   "groups (4) must divide n (10)");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_GROUP, 4, 8, 6, 4, 0, A, B, nullptr, nullptr, Y),
                   "groups (4) must divide m (6)");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_TOKEN, 10, 8, 8, 4, 0, A, B, nullptr, nullptr, Y),
                   "groups (4) must divide rows (10)");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_TOKEN, 8, 8, 6, 4, 0, A, B, nullptr, nullptr, Y), "must equal m");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 0, 8, 8, 1, 0, A, B, nullptr, nullptr, Y), "rows must be >= 1");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, -3, 1, 0, A, B, nullptr, nullptr, Y), "m must be >= 1");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_GROUP, 4, 8, 8, 0, 0, A, B, nullptr, nullptr, Y), "groups");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, -1, A, B, nullptr, nullptr, Y),
                   "tangents must be >= 0");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, int64_t(1) << 31, 1, 1, 1, 0, A, B, nullptr, nullptr, Y),
                   "GEMM limit");
    // Buffers: too small, NULL, of another context, aliasing.
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 1, Small, B, nullptr, nullptr, Y), "xx is too small");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 0, A, Small, nullptr, nullptr, Y), "w is too small");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 0, A, B, Small, nullptr, Y), "b is too small");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 2, A, B, nullptr, Small, Y), "wdot is too small");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 0, A, B, nullptr, nullptr, Small), "yy is too small");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 0, nullptr, B, nullptr, nullptr, Y), "xx is NULL");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 0, A, nullptr, nullptr, nullptr, Y), "w is NULL");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 0, A, B, nullptr, nullptr, nullptr), "yy is NULL");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 0, A, Foreign, nullptr, nullptr, Y),
                   "w belongs to another context");
    expect_invalid(fg_linear_jvp(c, FG_LAYER_DENSE, 4, 8, 8, 1, 0, A, B, nullptr, nullptr, A),
                   "yy must not be the same buffer as xx");
    expect_invalid(fg_linear_jvp(nullptr, FG_LAYER_DENSE, 4, 8, 8, 1, 0, A, B, nullptr, nullptr, Y), "context");
    // Backward.
    expect_invalid(fg_linear_backward(c, FG_LAYER_GROUP, 4, 10, 8, 4, A, B, Y, nullptr, nullptr, nullptr, 0),
                   "groups (4) must divide n (10)");
    expect_invalid(fg_linear_backward(c, FG_LAYER_TOKEN, 6, 8, 8, 4, A, B, Y, nullptr, nullptr, nullptr, 0),
                   "groups (4) must divide rows (6)");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 4, 8, 8, 1, A, B, Y, nullptr, nullptr, nullptr, 2),
                   "accumulate must be 0 or 1");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 4, 8, 8, 1, A, B, nullptr, nullptr, nullptr, nullptr, 0),
                   "dy is NULL");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 4, 8, 8, 1, nullptr, B, Y, nullptr, Small, nullptr, 0),
                   "x is NULL");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 4, 8, 8, 1, A, nullptr, Y, Small, nullptr, nullptr, 0),
                   "w is NULL");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 40, 80, 8, 1, A, B, Y, Small, nullptr, nullptr, 0),
                   "dx is too small");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 4, 80, 40, 1, A, B, Y, nullptr, Small, nullptr, 0),
                   "dw is too small");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 4, 8, 80, 1, A, B, Y, nullptr, nullptr, Small, 0),
                   "db is too small");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 4, 8, 8, 1, A, B, Foreign, nullptr, nullptr, nullptr, 0),
                   "dy belongs to another context");
    expect_invalid(fg_linear_backward(c, FG_LAYER_DENSE, 4, 8, 8, 1, A, B, Y, Y, nullptr, nullptr, 0),
                   "dx must not be the same buffer as dy");
    expect_invalid(fg_linear_backward(c, 3, 4, 8, 8, 1, A, B, Y, nullptr, nullptr, nullptr, 0), "kind");
    // The failures wrote nothing and leaked nothing.
    EXPECT_EQ(Y.get(), v);
}

// Buffers and the op's workspace are all counted; freeing the buffers returns to the workspace alone
// (TOKEN's weight gradient keeps S*P*P floats of context scratch, reused by later calls).
TEST_P(LinearTest, LiveBytesReturnToZeroAfterFreeingBuffers) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    for (const Shape& s : kShapes) {
        if (s.kind == FG_LAYER_TOKEN) continue;
        Buffer XX(c, random_vector(2 * s.rows * s.n, 1)), W(c, random_vector(weight_count(s), 2)),
            YY(c, 2 * s.rows * s.m * 4), DX(c, s.rows * s.n * 4), DW(c, weight_count(s) * 4), DB(c, bias_count(s) * 4);
        FG_ASSERT_OK(fg_linear_jvp(c, s.kind, s.rows, s.n, s.m, s.groups, 1, XX, W, nullptr, W, YY));
        FG_ASSERT_OK(fg_linear_backward(c, s.kind, s.rows, s.n, s.m, s.groups, XX, W, YY, DX, DW, DB, 0));
    }
    EXPECT_EQ(c.live_bytes(), 0u);
    const Shape s{FG_LAYER_TOKEN, 128, 33, 33, 64};
    const uint64_t scratch = (s.rows / s.groups) * s.groups * s.groups * sizeof(float);
    for (int round = 0; round < 2; ++round) {
        {
            Buffer X(c, random_vector(s.rows * s.n, 3)), DY(c, random_vector(s.rows * s.n, 4)),
                DW(c, weight_count(s) * 4);
            FG_ASSERT_OK(fg_linear_backward(c, s.kind, s.rows, s.n, s.m, s.groups, X, nullptr, DY, nullptr, DW,
                                            nullptr, 0));
        }
        EXPECT_EQ(c.live_bytes(), scratch) << "round " << round;
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, LinearTest, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return std::string(backend_name(info.param)); });
