// Shared helpers for the native tests: contexts per backend, buffers from vectors, random data,
// float64 comparisons that dump the inputs on failure.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <utility>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "forwardgrad.h"

namespace fgtest {

#define FG_ASSERT_OK(call)                                                                                 \
    do {                                                                                                   \
        fg_status fg_s_ = (call);                                                                          \
        ASSERT_EQ(fg_s_, FG_OK) << #call << " -> " << fg_status_string(fg_s_) << ": " << fg_last_error(); \
    } while (0)

#define FG_EXPECT_STATUS(call, expected)                                                    \
    do {                                                                                    \
        fg_status fg_s_ = (call);                                                           \
        EXPECT_EQ(fg_s_, expected) << #call << " -> " << fg_status_string(fg_s_) << ": " << fg_last_error(); \
    } while (0)

// Whether a backend is usable here; `reason` says why not.
inline bool backend_available(int32_t backend, std::string* reason = nullptr) {
    int32_t available = 0;
    char why[512] = {0};
    if (fg_backend_probe(backend, &available, why, sizeof why) != FG_OK) return false;
    if (reason) *reason = why;
    return available == 1;
}

inline const char* backend_name(int32_t backend) { return backend == FG_BACKEND_CUDA ? "cuda" : "cpu"; }

// An owning context handle.
struct Context {
    fg_context* ctx = nullptr;
    explicit Context(int32_t backend = FG_BACKEND_CPU, uint64_t seed = 42) {
        fg_context_options o{sizeof(fg_context_options), backend, 0, 0, seed};
        fg_status s = fg_context_create(&o, &ctx);
        if (s != FG_OK) ctx = nullptr;
    }
    ~Context() { fg_context_free(ctx); }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    operator fg_context*() const { return ctx; }
    uint64_t live_bytes() const {
        uint64_t b = 0;
        fg_context_live_bytes(ctx, &b);
        return b;
    }
};

// An owning buffer handle with typed upload/download.
struct Buffer {
    fg_buffer* buf = nullptr;
    uint64_t bytes = 0;
    Buffer() = default;
    Buffer(fg_context* ctx, uint64_t nbytes) : bytes(nbytes) {
        if (fg_buffer_alloc(ctx, nbytes, &buf) != FG_OK) buf = nullptr;
    }
    template <class T>
    Buffer(fg_context* ctx, const std::vector<T>& v) : Buffer(ctx, v.size() * sizeof(T)) {
        if (buf) fg_buffer_upload(buf, 0, v.data(), bytes);
    }
    ~Buffer() { fg_buffer_free(buf); }
    Buffer(Buffer&& o) noexcept : buf(o.buf), bytes(o.bytes) { o.buf = nullptr; }
    Buffer& operator=(Buffer&& o) noexcept {
        std::swap(buf, o.buf);
        std::swap(bytes, o.bytes);
        return *this;
    }
    operator fg_buffer*() const { return buf; }
    template <class T = float>
    std::vector<T> get() const {
        std::vector<T> v(bytes / sizeof(T));
        fg_buffer_download(buf, 0, v.data(), bytes);
        return v;
    }
    // Fills with NaN so a kernel that forgets to write an element is caught.
    void poison() const { fg_buffer_fill_f32(buf, 0, bytes / sizeof(float), std::nanf("")); }
};

// Uniform in [-scale, scale], never exactly zero-filled.
inline std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// Compares element-wise with |got - want| <= atol + rtol * |want|; on failure prints the first
// mismatches and the shape label so the case can be reproduced.
inline ::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<double>& want,
                                            double rtol, double atol, const std::string& label = "") {
    if (got.size() < want.size())
        return ::testing::AssertionFailure() << label << ": size " << got.size() << " < expected " << want.size();
    size_t bad = 0;
    std::string first;
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        double err = std::fabs(static_cast<double>(got[i]) - want[i]);
        bool ok = std::isfinite(got[i]) && err <= atol + rtol * std::fabs(want[i]);
        if (!ok) {
            if (bad < 5)
                first += "\n  [" + std::to_string(i) + "] got " + std::to_string(got[i]) + " want " +
                         std::to_string(want[i]);
            ++bad;
        }
        if (std::isfinite(err) && err > worst) worst = err;
    }
    if (bad == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << label << ": " << bad << " of " << want.size()
                                         << " elements differ (max abs err " << worst << ")" << first;
}

inline ::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<float>& want,
                                            double rtol, double atol, const std::string& label = "") {
    return all_close(got, to_double(want), rtol, atol, label);
}

// A CPU context created while the environment variables `vars` (name, value) are set (they are read at
// context creation, e.g. FG_CPU_LOOP_THREADS, FG_CPU_FUSED, FG_KEEP_NOISE_MB); unset again afterwards.
inline std::unique_ptr<Context> cpu_context_with_env(std::initializer_list<std::pair<const char*, std::string>> vars) {
    for (const auto& [name, value] : vars) {
#if defined(_WIN32)
        _putenv_s(name, value.c_str());
#else
        setenv(name, value.c_str(), 1);
#endif
    }
    auto c = std::make_unique<Context>(FG_BACKEND_CPU);
    for (const auto& [name, value] : vars) {
#if defined(_WIN32)
        _putenv_s(name, "");
#else
        unsetenv(name);
#endif
    }
    return c;
}

inline std::unique_ptr<Context> cpu_context_with_env(const char* name, const std::string& value) {
    return cpu_context_with_env({{name, value}});
}

// Whether two float vectors are equal bit for bit; names the first difference.
inline ::testing::AssertionResult bit_identical(const std::vector<float>& got, const std::vector<float>& want,
                                                const std::string& label) {
    if (got.size() != want.size())
        return ::testing::AssertionFailure() << label << ": size " << got.size() << " vs " << want.size();
    for (size_t i = 0; i < got.size(); ++i)
        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0)
            return ::testing::AssertionFailure() << label << ": element " << i << " of " << got.size() << " is "
                                                 << got[i] << " against " << want[i];
    return ::testing::AssertionSuccess();
}

// Backends to run a parameterised test on. CUDA cases skip with the reason when unavailable.
inline std::vector<int32_t> all_backends() { return {FG_BACKEND_CPU, FG_BACKEND_CUDA}; }

#define FG_SKIP_IF_UNAVAILABLE(backend)                                                      \
    do {                                                                                     \
        std::string fg_reason_;                                                              \
        if (!::fgtest::backend_available((backend), &fg_reason_))                            \
            GTEST_SKIP() << ::fgtest::backend_name(backend) << " backend unavailable: " << fg_reason_; \
    } while (0)

}  // namespace fgtest
