// The CPU GEMM provider (fg_gemm_provider_info_get): which library runs the GEMMs, and that its
// kernels fit this CPU. tests/native/CMakeLists.txt also runs this file's environment-driven cases
// (FG_TEST_EXPECT_*) under a forced OpenBLAS core type and an unknown provider name, and the GEMM
// parity suites under every provider the machine can load.
#include <cstdlib>
#include <string>

#include "test_util.h"

using namespace fgtest;

namespace {

fg_gemm_provider_info provider_info() {
    fg_gemm_provider_info info{};
    info.size = sizeof info;
    EXPECT_EQ(fg_gemm_provider_info_get(&info), FG_OK) << fg_last_error();
    return info;
}

int rank(const std::string& isa) {
    if (isa == "AVX-512") return 5;
    if (isa == "AVX2") return 4;
    if (isa == "AVX") return 3;
    if (isa.rfind("SS", 0) == 0) return 2;
    return 0;
}

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
}

TEST(GemmProvider, IsLoadedAndNamed) {
    if (env("FG_TEST_EXPECT_PROVIDER_ERROR")) GTEST_SKIP() << "this run expects the provider to fail";
    const fg_gemm_provider_info info = provider_info();
    EXPECT_EQ(info.loaded, 1) << info.error;
    EXPECT_STREQ(info.error, "");
    EXPECT_GT(std::string(info.description).size(), 0u);
    EXPECT_GE(info.threads, 1);
    if (const char* asked = env("FG_GEMM_PROVIDER"))
        if (std::string(asked) != "auto") EXPECT_STREQ(info.id, asked);
    // The context reports the same GEMM.
    Context ctx;
    ASSERT_NE(ctx.ctx, nullptr) << fg_last_error();
    fg_context_properties props{};
    props.size = sizeof props;
    FG_ASSERT_OK(fg_context_info(ctx, &props));
    EXPECT_STREQ(props.gemm_name, info.description);
}

// On a CPU with AVX2 or AVX-512, a BLAS provider must not run a generic (SSE) fallback, whatever the
// BLAS's own CPU-model table says: the kernels in use are at least AVX2 and nothing is to be warned of.
TEST(GemmProvider, KernelsUseTheCpusVectorUnits) {
    if (env("FG_TEST_EXPECT_PROVIDER_ERROR") || env("FG_TEST_EXPECT_FALLBACK_WARNING"))
        GTEST_SKIP() << "this run forces a provider state";
    const fg_gemm_provider_info info = provider_info();
    if (std::string(info.id) == "internal") GTEST_SKIP() << "the internal GEMM has no vector kernels to check";
    if (rank(info.cpu_isa) < rank("AVX2")) GTEST_SKIP() << "this CPU offers " << info.cpu_isa << " only";
    EXPECT_GE(rank(info.kernel_isa), rank("AVX2"))
        << info.description << " runs " << info.kernel_isa << " kernels on a " << info.cpu_isa << " CPU";
    EXPECT_STREQ(info.warning, "");
}

// Run with OPENBLAS_CORETYPE=Prescott: the user's core type is honoured, and reported with the fix.
TEST(GemmProvider, WarnsOfAGenericFallbackWithTheFix) {
    const char* core = env("FG_TEST_EXPECT_FALLBACK_WARNING");
    if (!core) GTEST_SKIP() << "runs only with FG_TEST_EXPECT_FALLBACK_WARNING=<forced core>";
    const fg_gemm_provider_info info = provider_info();
    ASSERT_STREQ(info.id, "openblas");
    if (rank(info.cpu_isa) < rank("AVX2")) GTEST_SKIP() << "no AVX2 here: a fallback is the right kernel";
    EXPECT_NE(std::string(info.description).find(core), std::string::npos) << info.description;
    EXPECT_LT(rank(info.kernel_isa), rank("AVX2")) << info.kernel_isa;
    const std::string warning = info.warning;
    EXPECT_NE(warning.find("OPENBLAS_CORETYPE"), std::string::npos) << warning;
    EXPECT_NE(warning.find(info.cpu_isa), std::string::npos) << warning;
}

// Run with FG_GEMM_PROVIDER set to a name that is not a provider: CPU contexts fail with the reason.
TEST(GemmProvider, AnUnknownProviderFailsContextCreationWithTheChoices) {
    if (!env("FG_TEST_EXPECT_PROVIDER_ERROR")) GTEST_SKIP() << "runs only with FG_TEST_EXPECT_PROVIDER_ERROR=1";
    const fg_gemm_provider_info info = provider_info();
    EXPECT_EQ(info.loaded, 0);
    fg_context_options o{sizeof(fg_context_options), FG_BACKEND_CPU, 0, 0, 1};
    fg_context* ctx = nullptr;
    EXPECT_EQ(fg_context_create(&o, &ctx), FG_ERR_UNSUPPORTED);
    EXPECT_EQ(ctx, nullptr);
    const std::string message = fg_last_error();
    EXPECT_NE(message.find("FG_GEMM_PROVIDER"), std::string::npos) << message;
    EXPECT_NE(message.find("openblas"), std::string::npos) << message;
}

TEST(GemmProvider, RejectsASmallStruct) {
    fg_gemm_provider_info info{};
    info.size = 8;
    FG_EXPECT_STATUS(fg_gemm_provider_info_get(&info), FG_ERR_INVALID_ARGUMENT);
    FG_EXPECT_STATUS(fg_gemm_provider_info_get(nullptr), FG_ERR_INVALID_ARGUMENT);
}

}  // namespace
