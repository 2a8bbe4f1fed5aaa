// Perturbed ReLU beyond the op table's oracle cases (ops_table/cases_elementwise.cpp: every combination
// of the optional inputs, K = 0/1/3, backward out of place and in place): tangent buffers ignored
// without tangents, the JVP in place over zdot, argument errors.
#include "oracle.h"
#include "test_util.h"

using namespace fgtest;

class ReluTest : public ::testing::TestWithParam<int32_t> {};

TEST_P(ReluTest, JvpWithoutTangentsIgnoresTangentBuffers) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const int64_t count = 50;
    auto z = random_vector(count, 3);
    Buffer Z(c, z), A(c, count * 4);
    A.poison();
    FG_ASSERT_OK(fg_relu_jvp(c, count, 0, Z, nullptr, nullptr, nullptr, nullptr, A, nullptr));
    EXPECT_TRUE(all_close(A.get(), oracle::relu_primal(z, nullptr), 0, 0));
}

TEST_P(ReluTest, JvpInPlaceOverZdot) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const int64_t count = 1001, K = 3;
    auto z = random_vector(count, 4), res = random_vector(count, 5);
    auto zdot = random_vector(K * count, 6), u = random_vector(K * count, 7), rdot = random_vector(K * count, 8);
    Buffer Z(c, z), RES(c, res), ZD(c, zdot), U(c, u), RD(c, rdot), A(c, count * 4), AD(c, K * count * 4);
    FG_ASSERT_OK(fg_relu_jvp(c, count, K, Z, RES, ZD, U, RD, A, AD));
    FG_ASSERT_OK(fg_relu_jvp(c, count, K, Z, RES, ZD, U, RD, A, ZD));
    EXPECT_EQ(ZD.get(), AD.get());
}

TEST_P(ReluTest, RejectsBadArgumentsWithAMessage) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam()), other(GetParam());
    const int64_t count = 16, K = 2;
    Buffer Z(c, random_vector(count, 1)), A(c, count * 4), T(c, random_vector(K * count, 2)), AD(c, K * count * 4);
    Buffer small(c, count * 4), foreign(other, K * count * 4);
    auto expect_error = [](fg_status s, const char* needle) {
        EXPECT_EQ(s, FG_ERR_INVALID_ARGUMENT) << fg_status_string(s);
        EXPECT_NE(std::string(fg_last_error()).find(needle), std::string::npos) << fg_last_error();
    };
    expect_error(fg_relu_jvp(nullptr, count, K, Z, nullptr, T, T, T, A, AD), "context is NULL");
    expect_error(fg_relu_jvp(c, 0, K, Z, nullptr, T, T, T, A, AD), "count must be >= 1 (got 0)");
    expect_error(fg_relu_jvp(c, count, -1, Z, nullptr, T, T, T, A, AD), "tangents must be >= 0 (got -1)");
    expect_error(fg_relu_jvp(c, count, K, nullptr, nullptr, T, T, T, A, AD), "z is NULL");
    expect_error(fg_relu_jvp(c, count, K, Z, nullptr, T, T, T, nullptr, AD), "a is NULL");
    expect_error(fg_relu_jvp(c, count, K, Z, nullptr, T, T, T, A, nullptr), "adot is NULL");
    expect_error(fg_relu_jvp(c, count, K, Z, nullptr, T, small, T, A, AD), "u is too small");
    expect_error(fg_relu_jvp(c, count, K, Z, nullptr, small, T, T, A, AD), "zdot is too small");
    expect_error(fg_relu_jvp(c, count, K, Z, nullptr, T, T, small, A, AD), "residual_dot is too small");
    expect_error(fg_relu_jvp(c, count, K, Z, foreign, T, T, T, A, AD), "residual belongs to another context");
    expect_error(fg_relu_jvp(c, count, K, Z, nullptr, T, T, T, A, foreign), "adot belongs to another context");
    expect_error(fg_relu_backward(c, count, A, nullptr, A), "da is NULL");
    expect_error(fg_relu_backward(c, count + 1, A, A, A), "a is too small");
    expect_error(fg_relu_backward(c, count, A, A, foreign), "dz belongs to another context");
}

INSTANTIATE_TEST_SUITE_P(Backends, ReluTest, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return std::string(backend_name(info.param)); });
