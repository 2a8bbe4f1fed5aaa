// Core ABI: versions, statuses, contexts, buffers, live bytes, GEMM shape errors, contexts on two threads.
#include <thread>

#include "oracle.h"
#include "test_util.h"

using namespace fgtest;

TEST(Core, VersionsAndStatusNames) {
    EXPECT_EQ(fg_abi_version(), FG_ABI_VERSION);
    EXPECT_STRNE(fg_version(), "");
    EXPECT_STREQ(fg_status_string(FG_ERR_INVALID_ARGUMENT), "FG_ERR_INVALID_ARGUMENT");
    EXPECT_STREQ(fg_status_string(12345), "FG_ERR_UNKNOWN_STATUS");
}

TEST(Core, BadContextOptionsAreRejectedWithAMessage) {
    fg_context* ctx = reinterpret_cast<fg_context*>(0x1);
    FG_EXPECT_STATUS(fg_context_create(nullptr, &ctx), FG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(ctx, nullptr);
    EXPECT_NE(std::string(fg_last_error()).find("options"), std::string::npos);
    fg_context_options small{4, FG_BACKEND_CPU, 0, 0, 1};
    FG_EXPECT_STATUS(fg_context_create(&small, &ctx), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("size"), std::string::npos);
    fg_context_options unknown{sizeof(fg_context_options), 7, 0, 0, 1};
    FG_EXPECT_STATUS(fg_context_create(&unknown, &ctx), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("backend"), std::string::npos);
}

TEST(Core, FreeAcceptsNull) {
    EXPECT_EQ(fg_context_free(nullptr), FG_OK);
    EXPECT_EQ(fg_buffer_free(nullptr), FG_OK);
}

TEST(Core, CpuContextInfo) {
    Context c;
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    fg_context_properties p{};
    p.size = sizeof p;
    FG_ASSERT_OK(fg_context_info(c, &p));
    EXPECT_EQ(p.backend, FG_BACKEND_CPU);
    EXPECT_GT(std::string(p.gemm_name).size(), 0u);
    EXPECT_GT(p.total_memory, 0u);
    EXPECT_EQ(p.live_bytes, 0u);
}

TEST(Core, CudaContextWithoutDeviceFailsCleanly) {
    std::string reason;
    if (backend_available(FG_BACKEND_CUDA, &reason)) GTEST_SKIP() << "a CUDA device is present";
    EXPECT_FALSE(reason.empty());
    fg_context_options o{sizeof(fg_context_options), FG_BACKEND_CUDA, 0, 0, 1};
    fg_context* ctx = nullptr;
    fg_status s = fg_context_create(&o, &ctx);
    EXPECT_TRUE(s == FG_ERR_NO_DEVICE || s == FG_ERR_UNSUPPORTED) << fg_status_string(s);
    EXPECT_EQ(ctx, nullptr);
    EXPECT_GT(std::string(fg_last_error()).size(), 10u);
    // The process goes on: a CPU context still works.
    Context cpu;
    EXPECT_NE(cpu.ctx, nullptr);
}

TEST(Core, BuffersRoundTripAndCountLiveBytes) {
    Context c;
    {
        std::vector<float> v = random_vector(1000, 1);
        Buffer a(c, v);
        Buffer b(c, 4000);
        EXPECT_EQ(c.live_bytes(), 8000u);
        FG_ASSERT_OK(fg_buffer_copy(b, 0, a, 0, 4000));
        EXPECT_EQ(b.get(), v);
        FG_ASSERT_OK(fg_buffer_fill_f32(b, 10, 5, 2.5f));
        auto w = b.get();
        EXPECT_EQ(w[9], v[9]);
        EXPECT_EQ(w[10], 2.5f);
        EXPECT_EQ(w[14], 2.5f);
        EXPECT_EQ(w[15], v[15]);
        uint64_t size = 0;
        FG_ASSERT_OK(fg_buffer_size(a, &size));
        EXPECT_EQ(size, 4000u);
    }
    EXPECT_EQ(c.live_bytes(), 0u);
}

TEST(Core, BufferRangeErrorsNameTheProblem) {
    Context c;
    Buffer a(c, 16);
    float host[8] = {0};
    FG_EXPECT_STATUS(fg_buffer_upload(a, 8, host, 16), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("outside the buffer of 16 bytes"), std::string::npos);
    FG_EXPECT_STATUS(fg_buffer_download(a, 0, nullptr, 4), FG_ERR_INVALID_ARGUMENT);
    FG_EXPECT_STATUS(fg_buffer_fill_f32(a, 2, 3, 1.0f), FG_ERR_INVALID_ARGUMENT);
    FG_EXPECT_STATUS(fg_buffer_copy(a, 0, a, 4, 8), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("overlap"), std::string::npos);
    fg_buffer* out = nullptr;
    FG_EXPECT_STATUS(fg_buffer_alloc(c, 0, &out), FG_ERR_INVALID_ARGUMENT);
    FG_EXPECT_STATUS(fg_buffer_alloc(nullptr, 4, &out), FG_ERR_INVALID_ARGUMENT);
}

TEST(Core, HugeAllocationIsOutOfMemoryNotACrash) {
    Context c;
    fg_buffer* out = nullptr;
    FG_EXPECT_STATUS(fg_buffer_alloc(c, UINT64_MAX / 2, &out), FG_ERR_OUT_OF_MEMORY);
    EXPECT_EQ(out, nullptr);
    EXPECT_EQ(c.live_bytes(), 0u);
}

TEST(Core, BufferKeepsItsContextAlive) {
    fg_context_options o{sizeof(fg_context_options), FG_BACKEND_CPU, 0, 0, 1};
    fg_context* ctx = nullptr;
    FG_ASSERT_OK(fg_context_create(&o, &ctx));
    fg_buffer* b = nullptr;
    FG_ASSERT_OK(fg_buffer_alloc(ctx, 64, &b));
    FG_ASSERT_OK(fg_context_free(ctx));  // the buffer still holds the context
    FG_ASSERT_OK(fg_buffer_fill_f32(b, 0, 16, 3.0f));
    float x = 0;
    FG_ASSERT_OK(fg_buffer_download(b, 60, &x, 4));
    EXPECT_EQ(x, 3.0f);
    FG_ASSERT_OK(fg_buffer_free(b));
}

TEST(Core, BuffersOfAnotherContextAreRejected) {
    Context c1, c2;
    Buffer a(c1, std::vector<float>(4, 1.0f)), b(c2, std::vector<float>(4, 1.0f)), out(c1, 16);
    FG_EXPECT_STATUS(fg_gemm(c1, 0, 0, 2, 2, 2, 1.0f, a, b, 0.0f, out), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("another context"), std::string::npos);
}

// ---------------------------------------------------------------- GEMM
// fg_gemm against its float64 oracle: the op table (ops_table/cases_gemm.cpp). Here: shape errors.

class GemmTest : public ::testing::TestWithParam<int32_t> {};

TEST_P(GemmTest, RejectsShapesThatDoNotFit) {
    FG_SKIP_IF_UNAVAILABLE(GetParam());
    Context c(GetParam());
    Buffer A(c, 6 * 4), B(c, 6 * 4), C(c, 4 * 4);
    FG_EXPECT_STATUS(fg_gemm(c, 0, 0, 2, 2, 4, 1.0f, A, B, 0.0f, C), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("a is too small"), std::string::npos) << fg_last_error();
    FG_EXPECT_STATUS(fg_gemm(c, 0, 0, -1, 2, 3, 1.0f, A, B, 0.0f, C), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("m must be >= 1"), std::string::npos);
    FG_EXPECT_STATUS(fg_gemm(c, 2, 0, 2, 2, 3, 1.0f, A, B, 0.0f, C), FG_ERR_INVALID_ARGUMENT);
    FG_EXPECT_STATUS(fg_gemm(c, 0, 0, 2, 2, 3, 1.0f, nullptr, B, 0.0f, C), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fg_last_error()).find("a is NULL"), std::string::npos);
    FG_EXPECT_STATUS(fg_gemm(nullptr, 0, 0, 2, 2, 3, 1.0f, A, B, 0.0f, C), FG_ERR_INVALID_ARGUMENT);
}

INSTANTIATE_TEST_SUITE_P(Backends, GemmTest, ::testing::ValuesIn(all_backends()),
                         [](const auto& info) { return std::string(backend_name(info.param)); });

TEST(Core, TwoContextsOnTwoThreads) {
    auto work = [](uint32_t seed, bool* ok) {
        Context c;
        auto a = random_vector(64 * 64, seed), b = random_vector(64 * 64, seed + 1);
        Buffer A(c, a), B(c, b), C(c, 64 * 64 * 4);
        bool good = true;
        for (int i = 0; i < 20 && good; ++i) good = fg_gemm(c, 0, 0, 64, 64, 64, 1.0f, A, B, 0.0f, C) == FG_OK;
        std::vector<double> want;
        for (int64_t i = 0; i < 64 * 64; ++i)
            want.push_back(oracle::gemm_element(0, 0, 64, 64, 64, 1.0, a.data(), b.data(), 0.0, nullptr, i / 64, i % 64));
        *ok = good && all_close(C.get(), want, 1e-4, 1e-4);
    };
    bool ok1 = false, ok2 = false;
    std::thread t1(work, 10, &ok1), t2(work, 20, &ok2);
    t1.join();
    t2.join();
    EXPECT_TRUE(ok1);
    EXPECT_TRUE(ok2);
}

TEST(Core, LastErrorIsPerThread) {
    Context c;
    FG_EXPECT_STATUS(fg_buffer_alloc(c, 0, nullptr), FG_ERR_INVALID_ARGUMENT);
    std::string here = fg_last_error();
    std::string there;
    std::thread t([&] { there = fg_last_error(); });
    t.join();
    EXPECT_FALSE(here.empty());
    EXPECT_TRUE(there.empty());
}
