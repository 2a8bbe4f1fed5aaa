// CUDA-specific behaviour: which devices the plug-in's kernels can run on (a pure decision, tested
// everywhere), contexts on several devices and host threads, the reductions' work splits and TF32.
// The device cases skip with the probe's reason where no usable GPU is present.
#include <cmath>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "../../native/src/cuda/arch_support.h"
#include "test_util.h"

using namespace fgtest;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------- compute capability vs embedded targets

TEST(CudaArch, ParsesTheCMakeArchitectureList) {
    std::vector<fg::ArchTarget> t;
    ASSERT_TRUE(fg::parse_arch_targets("80-real;90", t));
    ASSERT_EQ(t.size(), 2u);
    EXPECT_TRUE(t[0].arch == 80 && t[0].sass && !t[0].ptx);
    EXPECT_TRUE(t[1].arch == 90 && t[1].sass && t[1].ptx);
    EXPECT_EQ(fg::describe_arch_targets(t), "sm_80/sm_90 (+PTX compute_90)");
    ASSERT_TRUE(fg::parse_arch_targets("75-virtual,90a-real", t));
    EXPECT_TRUE(t[0].ptx && !t[0].sass && t[1].exact && t[1].sass);
    EXPECT_EQ(fg::describe_arch_targets(t), "sm_90a (+PTX compute_75)");
    EXPECT_FALSE(fg::parse_arch_targets("all", t));
    EXPECT_FALSE(fg::parse_arch_targets("native", t));
    EXPECT_FALSE(fg::parse_arch_targets("", t));
    EXPECT_FALSE(fg::parse_arch_targets("80-fake", t));
}

TEST(CudaArch, RunsNativelyWithinAMajorVersionAndOnPtxAboveIt) {
    const std::string list = "80-real;90";
    EXPECT_EQ(fg::decide_arch(list, 8, 0, "A100").fit, fg::ArchFit::kNative);
    EXPECT_EQ(fg::decide_arch(list, 8, 6, "RTX 3090").fit, fg::ArchFit::kNative);  // sm_80 cubin runs on 8.6
    EXPECT_EQ(fg::decide_arch(list, 8, 9, "L4").fit, fg::ArchFit::kNative);
    EXPECT_EQ(fg::decide_arch(list, 9, 0, "H100").fit, fg::ArchFit::kNative);
    const fg::ArchDecision blackwell = fg::decide_arch(list, 10, 0, "device 0 (B200)");
    EXPECT_EQ(blackwell.fit, fg::ArchFit::kPtxJit);
    EXPECT_TRUE(has(blackwell.message, "device 0 (B200) is sm_100")) << blackwell.message;
    EXPECT_TRUE(has(blackwell.message, "compute_90 PTX")) << blackwell.message;
    EXPECT_TRUE(has(blackwell.message, "-DCMAKE_CUDA_ARCHITECTURES=100")) << blackwell.message;
}

TEST(CudaArch, RefusesOlderDevicesNamingTheTargetsAndTheDevice) {
    const fg::ArchDecision t4 = fg::decide_arch("80-real;90", 7, 5, "device 0 (Tesla T4)");
    EXPECT_EQ(t4.fit, fg::ArchFit::kUnsupported);
    EXPECT_TRUE(has(t4.message, "built for sm_80/sm_90 (+PTX compute_90); device 0 (Tesla T4) is sm_75")) << t4.message;
    EXPECT_TRUE(has(t4.message, "-DCMAKE_CUDA_ARCHITECTURES=75")) << t4.message;
    // SASS alone does not run on a newer major version; PTX does not run below its own version.
    EXPECT_EQ(fg::decide_arch("80-real", 9, 0, "H100").fit, fg::ArchFit::kUnsupported);
    EXPECT_EQ(fg::decide_arch("90-virtual", 8, 0, "A100").fit, fg::ArchFit::kUnsupported);
    // Arch-specific targets run on exactly their device.
    EXPECT_EQ(fg::decide_arch("90a-real", 9, 0, "H100").fit, fg::ArchFit::kNative);
    EXPECT_EQ(fg::decide_arch("90a", 10, 0, "B200").fit, fg::ArchFit::kUnsupported);
    // Lists CMake expands itself are left to the runtime's check.
    EXPECT_EQ(fg::decide_arch("all-major", 7, 5, "T4").fit, fg::ArchFit::kUnknown);
}

// ---------------------------------------------------------------- context options

TEST(CudaOptions, Tf32MustBeZeroOrOne) {
    fg_context_options o{};
    o.size = sizeof o;
    o.backend = FG_BACKEND_CPU;
    o.gemm_tf32 = 2;
    fg_context* ctx = nullptr;
    FG_EXPECT_STATUS(fg_context_create(&o, &ctx), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(has(fg_last_error(), "gemm_tf32 must be 0 or 1 (got 2)")) << fg_last_error();
    EXPECT_EQ(ctx, nullptr);
}

TEST(CudaOptions, CallersOfTheShorterStructGetTf32Off) {
    // A caller built before gemm_tf32 existed passes the size up to seed; whatever follows is not read.
    fg_context_options o{};
    o.size = static_cast<uint32_t>(offsetof(fg_context_options, seed) + sizeof(o.seed));
    o.backend = FG_BACKEND_CPU;
    o.seed = 5;
    o.gemm_tf32 = 77;
    fg_context* ctx = nullptr;
    FG_ASSERT_OK(fg_context_create(&o, &ctx));
    fg_context_properties p{};
    p.size = sizeof p;
    FG_EXPECT_STATUS(fg_context_info(ctx, &p), FG_OK);
    EXPECT_EQ(p.seed, 5u);
    fg_context_free(ctx);
    o.size = static_cast<uint32_t>(offsetof(fg_context_options, seed));  // seed cut off: too old to be ours
    FG_EXPECT_STATUS(fg_context_create(&o, &ctx), FG_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(has(fg_last_error(), "options->size")) << fg_last_error();
}

// ---------------------------------------------------------------- device cases

std::vector<double> gemm_reference(int64_t m, int64_t n, int64_t k, const std::vector<float>& a,
                                   const std::vector<float>& b) {
    std::vector<double> c(static_cast<size_t>(m * n), 0.0);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t p = 0; p < k; ++p)
            for (int64_t j = 0; j < n; ++j) c[i * n + j] += double(a[i * k + p]) * double(b[p * n + j]);
    return c;
}

fg_context* cuda_context(int32_t device, int32_t tf32, std::string* error) {
    fg_context_options o{};
    o.size = sizeof o;
    o.backend = FG_BACKEND_CUDA;
    o.device = device;
    o.seed = 1;
    o.gemm_tf32 = tf32;
    fg_context* ctx = nullptr;
    if (fg_context_create(&o, &ctx) != FG_OK) {
        *error = fg_last_error();
        return nullptr;
    }
    return ctx;
}

// GEMMs, LayerNorms and bias sums on `ctx` from the calling thread, checked against float64.
void device_work(fg_context* ctx, uint32_t seed, std::string* failure) {
    const int64_t m = 96, n = 80, k = 128;
    auto a = random_vector(m * k, seed), b = random_vector(k * n, seed + 1);
    Buffer A(ctx, a), B(ctx, b), C(ctx, m * n * 4), Y(ctx, m * n * 4), mean(ctx, m * 4), rstd(ctx, m * 4),
        db(ctx, n * 4);
    const auto want = gemm_reference(m, n, k, a, b);
    std::vector<double> bias(static_cast<size_t>(n), 0.0);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) bias[j] += want[i * n + j];
    for (int round = 0; round < 10; ++round) {
        if (fg_gemm(ctx, 0, 0, m, n, k, 1.0f, A, B, 0.0f, C) != FG_OK ||
            fg_layernorm_forward(ctx, m, n, C, Y, mean, rstd) != FG_OK ||
            fg_linear_backward(ctx, FG_LAYER_DENSE, m, k, n, 1, nullptr, nullptr, C, nullptr, nullptr, db, 0) != FG_OK) {
            *failure = std::string("a call failed: ") + fg_last_error();
            return;
        }
    }
    auto got = all_close(C.get(), want, 1e-4, 1e-4);
    if (got) got = all_close(db.get(), bias, 1e-4, 1e-3);
    if (!got) *failure = got.message();
}

TEST(CudaDevices, TwoContextsOnTwoDevicesFromTwoThreads) {
    FG_SKIP_IF_UNAVAILABLE(FG_BACKEND_CUDA);
    std::string error;
    fg_context* second = cuda_context(1, 0, &error);
    if (!second) GTEST_SKIP() << "needs a second GPU: " << error;
    fg_context* first = cuda_context(0, 0, &error);
    ASSERT_NE(first, nullptr) << error;
    // Each thread drives the other device's context first, so a kernel that runs on the thread's
    // current device instead of its context's gives wrong numbers or an illegal address.
    std::string f1, f2;
    std::thread t1([&] { device_work(second, 10, &f1); device_work(first, 11, &f1); });
    std::thread t2([&] { device_work(first, 20, &f2); device_work(second, 21, &f2); });
    t1.join();
    t2.join();
    EXPECT_EQ(f1, "");
    EXPECT_EQ(f2, "");
    fg_context_free(first);
    fg_context_free(second);
}

TEST(CudaDevices, AContextWorksFromAThreadThatDidNotCreateIt) {
    FG_SKIP_IF_UNAVAILABLE(FG_BACKEND_CUDA);
    std::string error;
    fg_context* ctx = cuda_context(0, 0, &error);
    ASSERT_NE(ctx, nullptr) << error;
    std::string failure;
    std::thread t([&] { device_work(ctx, 30, &failure); });
    t.join();
    EXPECT_EQ(failure, "");
    fg_context_free(ctx);
}

TEST(CudaDevices, Tf32GemmsAreOptInAndStayWithinTf32Precision) {
    FG_SKIP_IF_UNAVAILABLE(FG_BACKEND_CUDA);
    std::string error;
    for (int32_t tf32 : {0, 1}) {
        fg_context* ctx = cuda_context(0, tf32, &error);
        ASSERT_NE(ctx, nullptr) << error;
        fg_context_properties p{};
        p.size = sizeof p;
        FG_ASSERT_OK(fg_context_info(ctx, &p));
        EXPECT_EQ(has(p.gemm_name, "(TF32)"), tf32 == 1) << p.gemm_name;
        const int64_t m = 128, n = 128, k = 512;
        auto a = random_vector(m * k, 3), b = random_vector(k * n, 4);
        {
            Buffer A(ctx, a), B(ctx, b), C(ctx, m * n * 4);
            FG_ASSERT_OK(fg_gemm(ctx, 0, 0, m, n, k, 1.0f, A, B, 0.0f, C));
            // TF32 keeps 10 mantissa bits of each input: relative error per product ~2^-11, so a
            // sum of k terms of size <= 1 is off by about sqrt(k) * 2^-11 * (typical |a b| ~ 1/3).
            const double atol = tf32 ? 4e-3 * std::sqrt(double(k)) : 1e-5 * std::sqrt(double(k)) * 4;
            EXPECT_TRUE(all_close(C.get(), gemm_reference(m, n, k, a, b), 0.0, atol, "tf32=" + std::to_string(tf32)));
        }
        fg_context_free(ctx);
    }
}

// ---------------------------------------------------------------- reductions (both backends)

// db of fg_linear_backward is the backends' sum over rows (sum_mid): these shapes take each of the
// CUDA backend's work splits (columns, columns in slices, one long contiguous sum, blocks with and
// without slices, per-row runs, short sums per warp segment).
struct SumCase {
    int32_t kind;
    int64_t rows, n, m, groups;  // TOKEN: rows = S*P, n = m = C, groups = P
};

class Reductions : public ::testing::TestWithParam<int32_t> {};

TEST_P(Reductions, BiasSumsMatchFloat64AndRepeatBitForBit) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    const SumCase cases[] = {
        {FG_LAYER_DENSE, 5, 3, 7, 1},            // columns, one slice
        {FG_LAYER_DENSE, 20000, 2, 300, 1},      // columns in slices, a partial last tile
        {FG_LAYER_DENSE, 40000, 2, 1, 1},        // one output: a contiguous sum in slices
        {FG_LAYER_TOKEN, 3 * 8, 16, 16, 8},      // short sums: warp segments
        {FG_LAYER_TOKEN, 300 * 16, 64, 64, 16},  // blocks in slices, 64-wide runs
        {FG_LAYER_TOKEN, 40 * 4, 512, 512, 4},   // blocks in slices, whole rows per thread stride
        {FG_LAYER_TOKEN, 2 * 4, 512, 512, 4},    // one block per output
    };
    uint32_t seed = 100;
    for (const SumCase& s : cases) {
        const std::string label = std::string(backend_name(GetParam())) + " kind=" + std::to_string(s.kind) +
                                  " rows=" + std::to_string(s.rows) + " m=" + std::to_string(s.m);
        // values with a common offset, so a float accumulator would lose digits a double keeps
        const auto dy = random_vector(static_cast<size_t>(s.rows * s.m), seed++, 1.0f);
        std::vector<float> shifted(dy);
        for (float& v : shifted) v += 3.0f;
        const int64_t outputs = s.kind == FG_LAYER_TOKEN ? s.groups : s.m;
        std::vector<double> want(static_cast<size_t>(outputs), 1.0);  // accumulate onto ones
        if (s.kind == FG_LAYER_TOKEN) {
            const int64_t P = s.groups, C = s.m, S = s.rows / P;
            for (int64_t i = 0; i < S; ++i)
                for (int64_t q = 0; q < P; ++q)
                    for (int64_t ch = 0; ch < C; ++ch) want[q] += shifted[(i * P + q) * C + ch];
        } else {
            for (int64_t r = 0; r < s.rows; ++r)
                for (int64_t j = 0; j < s.m; ++j) want[j] += shifted[r * s.m + j];
        }
        Buffer DY(c, shifted), DB(c, std::vector<float>(static_cast<size_t>(outputs), 1.0f));
        FG_ASSERT_OK(fg_linear_backward(c, s.kind, s.rows, s.n, s.m, s.groups, nullptr, nullptr, DY, nullptr, nullptr,
                                        DB, 1));
        const auto first = DB.get();
        // double sums rounded once: within a float's rounding of the exact value
        EXPECT_TRUE(all_close(first, want, 2e-6, 1e-6, label));
        FG_ASSERT_OK(fg_buffer_fill_f32(DB, 0, static_cast<uint64_t>(outputs), 1.0f));
        FG_ASSERT_OK(fg_linear_backward(c, s.kind, s.rows, s.n, s.m, s.groups, nullptr, nullptr, DY, nullptr, nullptr,
                                        DB, 1));
        EXPECT_EQ(DB.get(), first) << label << ": a second run gave other bits";
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, Reductions, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return std::string(backend_name(info.param)); });

}  // namespace
