// Philox4x32-10 and the normal tangents beyond the op table's oracle cases (the documented element
// mapping on every backend, CPU vs CUDA: ops_table/cases_elementwise.cpp): Random123 known answers,
// statistics, stream independence, the prefix property, the relative precision of small radii.
#include <algorithm>
#include <cmath>

#include "oracle.h"
#include "test_util.h"

using namespace fgtest;

namespace {

struct Kat {
    uint32_t counter[4], key[2], expected[4];
};

// Random123 kat_vectors, philox4x32 with 10 rounds.
const Kat kKats[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

std::vector<float> draw(fg_context* ctx, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id) {
    Buffer out(ctx, std::max<uint64_t>(count, 1) * sizeof(float));
    out.poison();
    EXPECT_EQ(fg_random_normal(ctx, out, count, seed, step, tensor_id), FG_OK) << fg_last_error();
    std::vector<float> v = out.get();
    v.resize(count);
    return v;
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        ab += double(a[i]) * b[i];
        aa += double(a[i]) * a[i];
        bb += double(b[i]) * b[i];
    }
    return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST(Philox, Random123KnownAnswers) {
    for (const Kat& k : kKats) {
        uint32_t out[4] = {0, 0, 0, 0};
        FG_ASSERT_OK(fg_philox4x32_10(k.counter, k.key, out));
        for (int i = 0; i < 4; ++i)
            EXPECT_EQ(out[i], k.expected[i]) << "word " << i << " of counter " << std::hex << k.counter[0];
        // The op table's oracle draws its normals from its own Philox rounds: they must give the same words.
        uint32_t oracle_out[4] = {0, 0, 0, 0};
        oracle::philox4x32_10(k.counter, k.key, oracle_out);
        for (int i = 0; i < 4; ++i) EXPECT_EQ(oracle_out[i], k.expected[i]) << "oracle word " << i;
    }
}

TEST(Philox, NullArgumentsAreRejected) {
    uint32_t c[4] = {0}, k[2] = {0}, o[4];
    FG_EXPECT_STATUS(fg_philox4x32_10(nullptr, k, o), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("counter"), std::string::npos);
    FG_EXPECT_STATUS(fg_philox4x32_10(c, nullptr, o), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("key"), std::string::npos);
    FG_EXPECT_STATUS(fg_philox4x32_10(c, k, nullptr), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("out"), std::string::npos);
}

TEST(Random, NormalBadArguments) {
    Context c, other;
    Buffer small(c, 16), foreign(other, 64);
    FG_EXPECT_STATUS(fg_random_normal(nullptr, small, 4, 1, 0, 0), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("context"), std::string::npos);
    FG_EXPECT_STATUS(fg_random_normal(c, nullptr, 4, 1, 0, 0), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("out is NULL"), std::string::npos);
    FG_EXPECT_STATUS(fg_random_normal(c, small, 5, 1, 0, 0), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("out is too small"), std::string::npos);
    FG_EXPECT_STATUS(fg_random_normal(c, foreign, 4, 1, 0, 0), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("another context"), std::string::npos);
    FG_EXPECT_STATUS(fg_random_normal(c, small, 0, 1, 0, 0), FG_OK);
}

TEST(Random, NormalStatisticsOverAMillionSamples) {
    Context c;
    const size_t n = 1000000;
    std::vector<float> x = draw(c, n, 0x1234567890abcdefull, 7, 3);
    double sum = 0, sum2 = 0, sum3 = 0, sum4 = 0, worst = 0;
    size_t beyond2 = 0, beyond3 = 0;
    for (float f : x) {
        ASSERT_TRUE(std::isfinite(f));
        const double v = f;
        sum += v, sum2 += v * v, sum3 += v * v * v, sum4 += v * v * v * v;
        beyond2 += std::fabs(v) > 2.0;
        beyond3 += std::fabs(v) > 3.0;
        worst = std::max(worst, std::fabs(v));
    }
    const double mean = sum / n, var = sum2 / n - mean * mean;
    // Bounds are 5 standard errors of each statistic under N(0, 1).
    EXPECT_LT(std::fabs(mean), 5.0 / std::sqrt(double(n)));
    EXPECT_LT(std::fabs(var - 1.0), 5.0 * std::sqrt(2.0 / n));
    EXPECT_LT(std::fabs(sum3 / n), 5.0 * std::sqrt(15.0 / n));       // skewness, Var(x^3) = 15
    EXPECT_LT(std::fabs(sum4 / n - 3.0), 5.0 * std::sqrt(96.0 / n)); // kurtosis, Var(x^4) = 96
    const double p2 = 0.04550026389635842, p3 = 0.0026997960632601866;  // P(|x| > 2), P(|x| > 3)
    EXPECT_NEAR(double(beyond2) / n, p2, 5.0 * std::sqrt(p2 * (1 - p2) / n));
    EXPECT_NEAR(double(beyond3) / n, p3, 5.0 * std::sqrt(p3 * (1 - p3) / n));
    // Tails exist but are bounded: u >= 2^-33 gives |x| <= sqrt(66 ln 2) ~ 6.77.
    EXPECT_GT(worst, 4.0);
    EXPECT_LT(worst, 6.77);
}

TEST(Random, DifferentKeysGiveIndependentStreams) {
    Context c;
    const size_t n = 20000;
    const uint64_t seed = 99;
    std::vector<float> base = draw(c, n, seed, 5, 2);
    const std::vector<std::vector<float>> others = {
        draw(c, n, seed, 6, 2),               // next step
        draw(c, n, seed, 5, 3),               // next tensor
        draw(c, n, seed + 1, 5, 2),           // seed low word
        draw(c, n, seed + (1ull << 32), 5, 2) // seed high word
    };
    for (size_t s = 0; s < others.size(); ++s) {
        EXPECT_NE(others[s], base) << "stream " << s;
        EXPECT_LT(std::fabs(correlation(base, others[s])), 5.0 / std::sqrt(double(n))) << "stream " << s;
    }
    // Same key, same numbers.
    EXPECT_EQ(draw(c, n, seed, 5, 2), base);
}

TEST(Random, ElementDoesNotDependOnCount) {
    Context c;
    const std::vector<float> full = draw(c, 1027, 5, 1, 9);
    for (uint64_t count : {1u, 2u, 3u, 5u, 7u, 64u, 1023u}) {
        std::vector<float> prefix = draw(c, count, 5, 1, 9);
        EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), full.begin())) << "count " << count;
    }
}

class RandomBackends : public ::testing::TestWithParam<int32_t> {};

// u near 1 gives the smallest radii: there ln u comes from a series in 1 - u, so those values keep their
// precision relative to r (an absolute 1e-6 would hide a 1 % error at r = 1e-4).
TEST_P(RandomBackends, SmallRadiiKeepTheirRelativePrecision) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    const uint64_t seed = 99, count = 1 << 18;
    const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    std::vector<float> got = draw(c, count, seed, 5, 3);
    int checked = 0;
    for (uint64_t i = 0; i < count; ++i) {
        const uint32_t counter[4] = {static_cast<uint32_t>(i / 4), static_cast<uint32_t>(i / 4 >> 32), 5, 3};
        uint32_t w[4];
        ASSERT_EQ(fg_philox4x32_10(counter, key, w), FG_OK);
        const uint32_t radius_word = w[(i % 4) / 2 * 2];
        if (radius_word < 0xfc000000u) continue;  // u > 1 - 2^-6: r < 0.18
        const double r = std::sqrt(-2.0 * std::log((radius_word + 0.5) / 4294967296.0));
        EXPECT_NEAR(got[i], oracle::normal(seed, 5, 3, i), 2e-6 * r) << "element " << i << ", r = " << r;
        ++checked;
    }
    EXPECT_GT(checked, 1000);
}

INSTANTIATE_TEST_SUITE_P(Backends, RandomBackends, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return std::string(backend_name(info.param)); });
