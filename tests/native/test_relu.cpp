// Perturbed ReLU: A = relu(Z + Res), Adot_k = [A > 0] (Zdot_k + U_k + Resdot_k) against a float64
// oracle, for every combination of the optional inputs, K = 0/1/3, in place; backward; errors.
#include "test_util.h"

using namespace fgtest;

namespace {

const int64_t kCounts[] = {1, 7, 1000, 4099};

// The mask comes from the float sum, as the library forms it, so both agree on every element.
std::vector<float> relu_primal(const std::vector<float>& z, const std::vector<float>* res, int64_t count) {
    std::vector<float> a(count);
    for (int64_t i = 0; i < count; ++i) {
        const float pre = z[i] + (res ? (*res)[i] : 0.0f);
        a[i] = pre > 0.0f ? pre : 0.0f;
    }
    return a;
}

}  // namespace

class ReluTest : public ::testing::TestWithParam<int32_t> {};

TEST_P(ReluTest, JvpMatchesOracleForEveryOptionalInput) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    uint32_t seed = 1;
    for (int64_t count : kCounts)
        for (int64_t K : {0, 1, 3})
            for (int mask = 0; mask < 16; ++mask) {
                const bool has_res = mask & 1, has_zdot = mask & 2, has_u = mask & 4, has_rdot = mask & 8;
                const int64_t kn = std::max<int64_t>(K, 1) * count;
                auto z = random_vector(count, seed++);
                auto res = random_vector(count, seed++);
                auto zdot = random_vector(kn, seed++), u = random_vector(kn, seed++), rdot = random_vector(kn, seed++);
                Buffer Z(c, z), RES(c, res), ZD(c, zdot), U(c, u), RD(c, rdot), A(c, count * 4), AD(c, kn * 4);
                A.poison();
                AD.poison();
                FG_ASSERT_OK(fg_relu_jvp(c, count, K, Z, has_res ? RES.buf : nullptr, has_zdot ? ZD.buf : nullptr,
                                         has_u ? U.buf : nullptr, has_rdot ? RD.buf : nullptr, A, AD));
                const std::string label = std::string(backend_name(GetParam())) + " count=" + std::to_string(count) +
                                          " K=" + std::to_string(K) + " optional mask=" + std::to_string(mask);
                auto a = relu_primal(z, has_res ? &res : nullptr, count);
                EXPECT_TRUE(all_close(A.get(), a, 0, 0, label + " a"));
                if (K == 0) continue;
                std::vector<double> adot(K * count);
                for (int64_t k = 0; k < K; ++k)
                    for (int64_t i = 0; i < count; ++i) {
                        const int64_t j = k * count + i;
                        const double t = (has_zdot ? double(zdot[j]) : 0.0) + (has_u ? double(u[j]) : 0.0) +
                                         (has_rdot ? double(rdot[j]) : 0.0);
                        adot[j] = a[i] > 0.0f ? t : 0.0;
                    }
                EXPECT_TRUE(all_close(AD.get(), adot, 1e-6, 5e-7, label + " adot"));
            }
    EXPECT_EQ(c.live_bytes(), 0u);
}

TEST_P(ReluTest, JvpWithoutTangentsIgnoresTangentBuffers) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    const int64_t count = 50;
    auto z = random_vector(count, 3);
    Buffer Z(c, z), A(c, count * 4);
    A.poison();
    FG_ASSERT_OK(fg_relu_jvp(c, count, 0, Z, nullptr, nullptr, nullptr, nullptr, A, nullptr));
    EXPECT_TRUE(all_close(A.get(), relu_primal(z, nullptr, count), 0, 0));
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

TEST_P(ReluTest, BackwardMasksByTheOutput) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    uint32_t seed = 50;
    for (int64_t count : kCounts) {
        auto a = relu_primal(random_vector(count, seed++), nullptr, count);  // about half exact zeros
        auto da = random_vector(count, seed++);
        Buffer A(c, a), DA(c, da), DZ(c, count * 4);
        DZ.poison();
        FG_ASSERT_OK(fg_relu_backward(c, count, A, DA, DZ));
        std::vector<double> want(count);
        for (int64_t i = 0; i < count; ++i) want[i] = a[i] > 0.0f ? da[i] : 0.0;
        const std::string label = std::string(backend_name(GetParam())) + " count=" + std::to_string(count);
        EXPECT_TRUE(all_close(DZ.get(), want, 0, 0, label));
        FG_ASSERT_OK(fg_relu_backward(c, count, A, DA, DA));  // in place
        EXPECT_TRUE(all_close(DA.get(), want, 0, 0, label + " in place"));
    }
    EXPECT_EQ(c.live_bytes(), 0u);
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
