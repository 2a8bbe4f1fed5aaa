// The CPU backend splits its element-wise loops over threads (native/src/cpu/parallel.h) and promises
// that no result depends on the thread count. These tests hold it to that, bit for bit, with thread
// counts that do not divide the work and more threads than the machine has CPUs, on sizes well above
// the loops' grain (smaller loops run on the caller alone and would prove nothing).
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "test_mixer_util.h"

namespace {
using namespace fgtest;

// A CPU context whose element-wise loops use `threads` threads; BLAS keeps its own count.
std::unique_ptr<Context> loop_context(int threads) { return cpu_context_with_env("FG_CPU_LOOP_THREADS", std::to_string(threads)); }

std::vector<float> normals(fg_context* ctx, uint64_t count) {
    Buffer out(ctx, count * sizeof(float));
    out.poison();
    EXPECT_EQ(fg_random_normal(ctx, out, count, 0x1234567890ull, 5, 9), FG_OK) << fg_last_error();
    return out.get();
}

const int kThreadCounts[] = {2, 3, 5};

TEST(LoopThreads, RandomNormalIsIdenticalForAnyThreadCount) {
    const uint64_t count = 1000003;  // not a multiple of 4, nor of a chunk
    auto one = loop_context(1);
    ASSERT_NE(one->ctx, nullptr) << fg_last_error();
    const std::vector<float> want = normals(*one, count);
    for (int t : kThreadCounts) {
        auto many = loop_context(t);
        EXPECT_TRUE(bit_identical(normals(*many, count), want, std::to_string(t) + " threads"));
    }
}

// Every method's full step: noise, LayerNorm (on the full and the per-group view), ReLU, the local
// losses' directional derivatives, both estimators, bias sums. 64 images of 16 patches by 128 channels
// give 131,072-element activations, 4x the loops' grain.
TEST(LoopThreads, EveryMethodsGradientsAreIdenticalForAnyThreadCount) {
    fg_mixer_config cfg = mixer_config(16, 16, 3, 10, 2, 4, 128, 4);
    cfg.pre_linear_ln = 1;
    cfg.inter_ln = 1;
    const int64_t batch = 64;
    auto one = loop_context(1);
    auto many = loop_context(3);
    ASSERT_NE(one->ctx, nullptr);
    ASSERT_NE(many->ctx, nullptr);
    Mixer m1(*one, cfg), m3(*many, cfg);
    ASSERT_NE(m1.m, nullptr) << fg_last_error();
    ASSERT_NE(m3.m, nullptr) << fg_last_error();
    Batch b1(*one, cfg, batch, 3), b3(*many, cfg, batch, 3);
    for (int32_t method = FG_METHOD_BP; method <= FG_METHOD_DFA; ++method) {
        const int32_t tangents = method <= FG_METHOD_LGBP ? 1 : 2;
        const fg_step_options o = step_options(method, tangents, 4);
        fg_step_stats s1{}, s3{};
        s1.size = s3.size = sizeof(fg_step_stats);
        FG_ASSERT_OK(fg_mixer_gradients(m1, batch, b1.img, b1.lab, &o, &s1));
        FG_ASSERT_OK(fg_mixer_gradients(m3, batch, b3.img, b3.lab, &o, &s3));
        const std::string label = "method " + std::to_string(method);
        EXPECT_EQ(std::memcmp(&s1.loss, &s3.loss, sizeof(float)), 0) << label << ": loss " << s1.loss << " vs " << s3.loss;
        for (int32_t i = 0; i < m1.count(); ++i)
            EXPECT_TRUE(bit_identical(m3.get(i, true), m1.get(i, true), label + ", gradient of " + m1.info(i).name));
    }
}

// A context's cpu_threads sets both pools: the GEMM provider's threads (process-wide, the last context
// created with cpu_threads > 0 sets them) and the loops'. The loops never change a result (above); a
// provider may (OpenBLAS can split one GEMM's inner dimension between its threads), so across GEMM thread
// counts the results agree to float32 rounding, not bit for bit. Each context runs its steps right after
// it is created, so its count is the one in force.
TEST(CpuThreads, EveryMethodsGradientsAgreeForAnyGemmAndLoopThreadCount) {
    fg_mixer_config cfg = mixer_config(16, 16, 3, 10, 2, 4, 128, 4);
    const int64_t batch = 64;
    std::vector<std::vector<std::vector<float>>> grads;  // [thread count][method * params + i]
    std::vector<std::vector<float>> losses;
    for (int32_t threads : {1, 2, 3}) {
        fg_context_options o{sizeof(fg_context_options), FG_BACKEND_CPU, 0, threads, 42};
        fg_context* raw = nullptr;
        FG_ASSERT_OK(fg_context_create(&o, &raw));
        fg_gemm_provider_info info{};
        info.size = sizeof info;
        FG_ASSERT_OK(fg_gemm_provider_info_get(&info));
        if (std::string(info.id) != "internal")  // the internal GEMM is single-threaded
            EXPECT_EQ(info.threads, threads) << "the provider took the context's thread count";
        {
            Mixer m(raw, cfg);
            ASSERT_NE(m.m, nullptr) << fg_last_error();
            Batch b(raw, cfg, batch, 3);
            grads.emplace_back();
            losses.emplace_back();
            for (int32_t method = FG_METHOD_BP; method <= FG_METHOD_LGFGA; ++method) {
                const fg_step_options so = step_options(method, method <= FG_METHOD_LGBP ? 1 : 2, 4);
                fg_step_stats st{};
                st.size = sizeof st;
                FG_ASSERT_OK(fg_mixer_gradients(m, batch, b.img, b.lab, &so, &st));
                losses.back().push_back(st.loss);
                for (int32_t i = 0; i < m.count(); ++i) grads.back().push_back(m.get(i, true));
            }
        }
        fg_context_free(raw);
    }
    for (size_t t = 1; t < grads.size(); ++t) {
        const std::string label = std::to_string(t + 1) + " threads";
        EXPECT_TRUE(all_close(losses[t], to_double(losses[0]), 1e-5, 1e-7, "losses, " + label));
        ASSERT_EQ(grads[t].size(), grads[0].size());
        for (size_t i = 0; i < grads[t].size(); ++i)
            EXPECT_TRUE(all_close(grads[t][i], to_double(grads[0][i]), 1e-4, 1e-6,
                                  "gradient " + std::to_string(i) + ", " + label));
    }
}

TEST(LoopThreads, OptimizerStepIsIdenticalForAnyThreadCount) {
    const size_t n = 100003;
    for (int32_t kind : {FG_OPT_SGD, FG_OPT_ADAMW}) {
        std::vector<std::vector<float>> results;
        for (int t : {1, 3}) {
            auto ctx = loop_context(t);
            Buffer p(*ctx, random_vector(n, 1)), g(*ctx, random_vector(n, 2)), s1(*ctx, random_vector(n, 3, 0.1f)),
                s2(*ctx, random_vector(n, 4, 0.1f));
            // the second moment must be non-negative
            std::vector<float> v = s2.get();
            for (auto& x : v) x = std::fabs(x);
            fg_buffer_upload(s2, 0, v.data(), n * sizeof(float));
            fg_optimizer_params hp{};
            hp.size = sizeof hp;
            hp.kind = kind;
            hp.lr = 0.01f, hp.momentum = 0.9f, hp.weight_decay = 1e-4f, hp.decoupled = 1;
            hp.beta1 = 0.9f, hp.beta2 = 0.999f, hp.eps = 1e-8f, hp.step = 3;
            fg_buffer *pp = p, *gg = g, *a = s1, *b = kind == FG_OPT_ADAMW ? s2.buf : nullptr;
            const int32_t decay = 1;
            FG_ASSERT_OK(fg_optimizer_step(*ctx, &hp, 1, &pp, &gg, &a, &b, &decay));
            results.push_back(p.get());
        }
        EXPECT_TRUE(bit_identical(results[1], results[0], kind == FG_OPT_SGD ? "SGD" : "AdamW"));
    }
}

// Two contexts on two threads: one loop holds the pool, the other runs on its own thread. Both must
// still produce every value.
TEST(LoopThreads, ContextsOnTwoThreadsBothGetCorrectResults) {
    const uint64_t count = 300001;
    auto ref = loop_context(1);
    const std::vector<float> want = normals(*ref, count);
    auto a = loop_context(2), b = loop_context(2);
    std::vector<float> got_a, got_b;
    bool same_a = true, same_b = true;
    std::thread ta([&] {
        for (int i = 0; i < 20 && same_a; ++i) same_a = normals(*a, count) == want;
    });
    std::thread tb([&] {
        for (int i = 0; i < 20 && same_b; ++i) same_b = normals(*b, count) == want;
    });
    ta.join();
    tb.join();
    EXPECT_TRUE(same_a);
    EXPECT_TRUE(same_b);
}

#if defined(__linux__)
int process_threads() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key)
        if (key == "Threads:") {
            int n = 0;
            status >> n;
            return n;
        }
    return 0;
}

// Guards the tests above against passing vacuously: a large loop on a 5-thread context must have
// started the pool's workers.
TEST(LoopThreads, ALargeLoopStartsThePoolsWorkers) {
    auto ctx = loop_context(5);
    normals(*ctx, 1 << 20);
    EXPECT_GE(process_threads(), 5);
}
#endif

}  // namespace
