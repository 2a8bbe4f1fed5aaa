// The backend plug-in boundary (native/src/core/backend_plugin.h). ctest runs these with FG_CUDA_PLUGIN
// naming the CPU backend built as a plug-in (tests/native/plugin): FG_TEST_PLUGIN=current for the
// build of this tree, =stale for one that speaks plug-in ABI 0.
#include <cstdlib>
#include <string>

#include "test_util.h"

using namespace fgtest;

namespace {

bool plugin_is(const char* variant) {
    const char* v = std::getenv("FG_TEST_PLUGIN");
    return v && std::string(v) == variant;
}

#define FG_REQUIRE_TEST_PLUGIN(variant)                                                                    \
    if (!plugin_is(variant))                                                                               \
    GTEST_SKIP() << "runs under ctest's plugin_boundary.* entries (FG_TEST_PLUGIN=" variant " and FG_CUDA_PLUGIN)"

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(PluginBoundary, AStalePluginIsRefusedNamingBothAbiVersions) {
    FG_REQUIRE_TEST_PLUGIN("stale");
    int32_t available = 1;
    char reason[2048] = {0};
    FG_ASSERT_OK(fg_backend_probe(FG_BACKEND_CUDA, &available, reason, sizeof reason));
    EXPECT_EQ(available, 0);
    const std::string why = reason;
    EXPECT_TRUE(contains(why, "plug-in ABI 0")) << why;
    EXPECT_TRUE(contains(why, "test-plugin")) << why;  // the plug-in's version
    EXPECT_TRUE(contains(why, "needs ABI ")) << why;  // the core's own
    EXPECT_TRUE(contains(why, "same version")) << why;  // the fix

    fg_context_options o{sizeof(fg_context_options), FG_BACKEND_CUDA, 0, 0, 1};
    fg_context* c = nullptr;
    FG_EXPECT_STATUS(fg_context_create(&o, &c), FG_ERR_UNSUPPORTED);
    EXPECT_EQ(c, nullptr);
    EXPECT_TRUE(contains(fg_last_error(), "plug-in ABI 0")) << fg_last_error();
}

TEST(PluginBoundary, ABackendErrorCrossesAsItsStatusAndMessage) {
    FG_REQUIRE_TEST_PLUGIN("current");
    Context c(FG_BACKEND_CUDA);
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    // The plug-in's backend throws; its entry returns the status; the core rethrows it with the message.
    const uint64_t huge = uint64_t(1) << 62;
    fg_buffer* b = nullptr;
    FG_EXPECT_STATUS(fg_buffer_alloc(c, huge, &b), FG_ERR_OUT_OF_MEMORY);
    EXPECT_EQ(b, nullptr);
    EXPECT_TRUE(contains(fg_last_error(), std::to_string(huge) + " bytes")) << fg_last_error();
    EXPECT_EQ(c.live_bytes(), 0u);
    // The context stays usable: a round trip through the plug-in's memory and one of its kernels.
    Buffer x(c, std::vector<float>{1, -2, 3, -4, 5, -6, 7, -8});
    Buffer y(c, 8 * sizeof(float));
    FG_ASSERT_OK(fg_relu_backward(c, 8, x, x, y));
    EXPECT_EQ(y.get(), (std::vector<float>{1, 0, 3, 0, 5, 0, 7, 0}));
}

TEST(PluginBoundary, TheCoreDescribesTheBackendThePluginCreated) {
    FG_REQUIRE_TEST_PLUGIN("current");
    Context c(FG_BACKEND_CUDA);
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    fg_context_properties p{};
    p.size = sizeof p;
    FG_ASSERT_OK(fg_context_info(c, &p));
    EXPECT_EQ(p.backend, FG_BACKEND_CUDA);        // as asked for
    EXPECT_NE(std::string(p.gemm_name), "");      // filled by the plug-in's describe
    EXPECT_GT(p.total_memory, 0u);
}
