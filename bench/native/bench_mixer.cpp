// One LocalMixer gradient step (fg_mixer_gradients) of every method at batch 100 for the paper's MNIST
// (S/1/1, M/1/16) and CIFAR (M/8/16) shapes, on each backend: the backprop methods (BP, L-BP, LG-BP) once,
// the forward-gradient methods with K = 1 and 4 tangents, LG-FG-A also with K = 2 and 8.
//   Names: BM_MixerStep/<S1_1|M1_16|M8_16>/<method>[/K<k>]/<cpu|cuda|cpu_loops1>, e.g.
//          --benchmark_filter='BM_MixerStep/M8_16/(LGBP|LGFGA/K1)/cpu'
//   BM_MixerRatio/<config>/<cpu|cuda>: BP, LG-BP, LG-FG-A K=1 and K=4 steps and a 1024^3 GEMM in turn, for
//     the step-ratio targets (see BM_MixerRatio below).
//   cpu_loops1: BP, LG-BP and LG-FG-A K=1 with the CPU's element-wise loops on one thread (BLAS unchanged).
//   BM_MixerContrastive/<config>/<LGBP|LGFGA/K<k>>/<cpu|cuda>: one step with contrastive local losses at batch
//     64 (32 pairs of views: view 1 of each image, then view 2), K = 1, 4 and 16.
//   Images: synthetic, normalised (zero mean, unit variance per pixel, fixed seed); labels n % 10.
//   Counters: workspace_MB (the activation workspace the step reports), peak_rss_MB (the process's peak
//   resident set so far: run one step kind per process to read it per method), images/s, and ratios to steps
//   measured earlier in the same run (benchmarks run in registration order, so BP and LG-BP of a config
//   run before its LG-FG-A, and K1 before K2..K8; a ratio is absent when its reference was filtered out):
//     x_LGBP, x_BP      this step's wall time over LG-BP's / BP's (on LG-FG-A only; targets: x_LGBP <= 1.1)
//     x_K1              this step's wall time over the same method's K = 1 step (K > 1 only)
//     x_LGBP_cpu, x_K1_cpu   the same ratios in process CPU time (every thread; less sensitive to other load)
//     proc_cpu_ms       process CPU milliseconds per step (every thread, BLAS's included; cpu_time is the
//                       main thread's only), real_time the wall time.
#include <cmath>
#include <cstdint>
#include <ctime>
#include <sys/resource.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"

namespace {

struct Preset {
    const char* name;
    int32_t h, w, cin, blocks, grid, channels, groups;
};
const Preset kPresets[] = {{"S1_1", 28, 28, 1, 1, 1, 256, 1},
                           {"M1_16", 28, 28, 1, 1, 1, 512, 16},
                           {"M8_16", 32, 32, 3, 4, 8, 512, 16}};
const char* kMethods[] = {"BP", "LBP", "LGBP", "FGW", "FGA", "LGFGW", "LGFGA"};
constexpr int64_t kBatch = 100;

// Wall and process-CPU seconds per step of the last finished run of each (backend, preset, method, K).
struct Timing {
    double wall = 0, cpu = 0;
};
std::map<std::string, Timing>& timings() {
    static std::map<std::string, Timing> t;
    return t;
}
std::string key(int32_t backend, const Preset& p, int32_t method, int32_t K) {
    return std::to_string(backend) + "/" + p.name + "/" + std::to_string(method) + "/" + std::to_string(K);
}

double wall_now() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
double cpu_now() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

// B normalised images: a fixed pseudo-random N(0, 1) per pixel (Box-Muller over a 64-bit LCG).
std::vector<float> synthetic_images(uint64_t count) {
    std::vector<float> v(count);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    auto uniform = [&] {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (static_cast<double>(s >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    };
    for (uint64_t i = 0; i < count; ++i)
        v[i] = static_cast<float>(std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()));
    return v;
}

void ratio(benchmark::State& state, const char* name, const Timing& mine, const std::string& ref_key, bool with_cpu) {
    auto it = timings().find(ref_key);
    if (it == timings().end() || it->second.wall <= 0) return;
    state.counters[name] = mine.wall / it->second.wall;
    if (with_cpu && it->second.cpu > 0) state.counters[std::string(name) + "_cpu"] = mine.cpu / it->second.cpu;
}

// One model, one batch and the options of one method: a step is run().
struct StepRunner {
    fg_context* ctx;
    fg_mixer* m = nullptr;
    fg_buffer *images = nullptr, *labels = nullptr;
    fg_step_options o{};
    fg_step_stats st{};
    std::string error;

    int64_t batch;

    StepRunner(fg_context* c, const Preset& p, int32_t method, int32_t tangents,
               int32_t local_loss = FG_LOSS_CROSS_ENTROPY, int64_t batch_size = kBatch)
        : ctx(c), batch(batch_size) {
        fg_mixer_config cfg{};
        cfg.size = sizeof cfg;
        cfg.local_loss = local_loss;
        cfg.image_height = p.h, cfg.image_width = p.w, cfg.image_channels = p.cin, cfg.classes = 10;
        cfg.blocks = p.blocks, cfg.grid = p.grid, cfg.channels = p.channels, cfg.groups = p.groups, cfg.seed = 1;
        if (fg_mixer_create(ctx, &cfg, &m) != FG_OK) {
            error = fg_last_error();
            return;
        }
        const uint64_t pixels = static_cast<uint64_t>(batch) * p.h * p.w * p.cin;
        const std::vector<float> host = synthetic_images(pixels);
        std::vector<int32_t> lab(static_cast<size_t>(batch));
        for (int64_t n = 0; n < batch; ++n) lab[n] = static_cast<int32_t>(n % 10);
        fg_buffer_alloc(ctx, pixels * sizeof(float), &images);
        fg_buffer_upload(images, 0, host.data(), pixels * sizeof(float));
        fg_buffer_alloc(ctx, batch * sizeof(int32_t), &labels);
        fg_buffer_upload(labels, 0, lab.data(), batch * sizeof(int32_t));
        o.size = sizeof o;
        o.method = method;
        o.tangents = tangents;
        o.seed = 3;
        o.head_lr = 1.0f;
        o.last_layer_lr = 0.1f;
        st.size = sizeof st;
        run();  // untimed: first-touch of the workspace and the gradient buffers
    }
    ~StepRunner() {
        fg_buffer_free(images);
        fg_buffer_free(labels);
        fg_mixer_free(m);
    }
    bool ok() const { return error.empty(); }
    // One step, finished (synchronised); false with `error` set on failure.
    bool run() {
        if (!ok()) return false;
        if (fg_mixer_gradients(m, batch, images, labels, &o, &st) != FG_OK) {
            error = fg_last_error();
            return false;
        }
        fg_context_synchronize(ctx);
        ++o.step;
        return true;
    }
};

// loop_threads > 0: a CPU context whose element-wise loops use that many threads (the cpu_loops1 cases).
fg_context* step_context(benchmark::State& state, int32_t backend, int32_t loop_threads) {
    if (loop_threads == 0) return fgbench::require(state, backend);
    fg_context* c = fgbench::cpu_loop_context(loop_threads);
    if (!c) state.SkipWithError(fg_last_error());
    return c;
}

void BM_MixerStep(benchmark::State& state, int32_t backend, Preset p, int32_t method, int32_t tangents,
                  int32_t loop_threads) {
    fg_context* ctx = step_context(state, backend, loop_threads);
    if (!ctx) return;
    const int32_t timing_id = backend + 16 * loop_threads;  // keeps the cpu_loops1 ratios among themselves
    StepRunner step(ctx, p, method, tangents);
    bool ok = step.ok();
    const double wall0 = wall_now(), cpu0 = cpu_now();
    for (auto _ : state)
        if (!(ok = step.run())) break;
    if (!ok) state.SkipWithError(step.error.c_str());
    if (ok && state.iterations() > 0) {
        const double n = static_cast<double>(state.iterations());
        const Timing mine{(wall_now() - wall0) / n, (cpu_now() - cpu0) / n};
        timings()[key(timing_id, p, method, tangents)] = mine;
        state.counters["proc_cpu_ms"] = 1e3 * mine.cpu;
        const bool backprop = method <= FG_METHOD_LGBP;
        if (method == FG_METHOD_LGFGA) {
            ratio(state, "x_LGBP", mine, key(timing_id, p, FG_METHOD_LGBP, 1), true);
            ratio(state, "x_BP", mine, key(timing_id, p, FG_METHOD_BP, 1), false);
        }
        if (!backprop && tangents > 1) ratio(state, "x_K1", mine, key(timing_id, p, method, 1), true);
    }
    state.counters["workspace_MB"] = static_cast<double>(step.st.workspace_bytes) / (1 << 20);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);  // the process's peak: meaningful when one step kind runs per process
    state.counters["peak_rss_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
    state.counters["images/s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

// One contrastive step (see the file comment): wall time per step, proc_cpu_ms, workspace_MB.
void BM_MixerContrastive(benchmark::State& state, int32_t backend, Preset p, int32_t method, int32_t tangents) {
    fg_context* ctx = fgbench::require(state, backend);
    if (!ctx) return;
    constexpr int64_t kViews = 64;
    StepRunner step(ctx, p, method, tangents, FG_LOSS_CONTRASTIVE, kViews);
    bool ok = step.ok();
    const double cpu0 = cpu_now();
    for (auto _ : state)
        if (!(ok = step.run())) break;
    if (!ok) state.SkipWithError(step.error.c_str());
    if (ok && state.iterations() > 0)
        state.counters["proc_cpu_ms"] = 1e3 * (cpu_now() - cpu0) / static_cast<double>(state.iterations());
    state.counters["workspace_MB"] = static_cast<double>(step.st.workspace_bytes) / (1 << 20);
}

// GEMM flops of one primal forward pass at batch kBatch: per block the token (block >= 1), channel and
// group layers; the heads and the classifier are under 0.1 % and left out.
double forward_gemm_flops(const Preset& p) {
    const double P = double(p.grid) * p.grid, R = kBatch * P, C = p.channels, din = double(p.h / p.grid) * (p.w / p.grid) * p.cin;
    double f = 0;
    for (int32_t k = 0; k < p.blocks; ++k) {
        if (k >= 1) f += 2.0 * kBatch * P * P * C;        // token: W^T (P x P) X_s (P x C) per sample
        f += 2.0 * R * (k == 0 ? din : C) * C;           // channel (block 0: the patch embedding)
        f += 2.0 * R * C * (C / p.groups);               // group: G blocks of C/G x C/G
    }
    return f;
}

// BP, LG-BP and LG-FG-A at K = 1 and K = 4, and a 1024^3 fg_gemm, taken in turn on one context: the
// targets' ratios under the same machine state (separate benchmarks minutes apart drift by more than
// the 10 % being judged on a shared machine).
//   Counters: <step>_ms (mean wall per step), sgemm_GFLOPs (the 1024^3 rate of the GEMM provider in use),
//   x_LGBP (LG-FG-A K=1 over LG-BP), K4_x_K1 (LG-FG-A K=4 over K=1), BP_gemm_frac / LGBP_gemm_frac: the
//   step's GEMM-equivalent rate (3 forward passes' GEMM flops over its time) as a fraction of sgemm_GFLOPs.
void BM_MixerRatio(benchmark::State& state, int32_t backend, Preset p) {
    fg_context* c = fgbench::require(state, backend);
    if (!c) return;
    struct Step {
        const char* name;
        int32_t method, K;
    };
    const Step steps[] = {{"BP", FG_METHOD_BP, 1}, {"LGBP", FG_METHOD_LGBP, 1}, {"LGFGA_K1", FG_METHOD_LGFGA, 1},
                          {"LGFGA_K4", FG_METHOD_LGFGA, 4}};
    std::vector<std::unique_ptr<StepRunner>> runners;
    for (const Step& s : steps) runners.push_back(std::make_unique<StepRunner>(c, p, s.method, s.K));
    constexpr int64_t n = 1024;
    fgbench::Buffer ga(c, n * n), gb(c, n * n), gc(c, n * n);
    auto gemm = [&] {
        fg_gemm(c, FG_NO_TRANS, FG_NO_TRANS, n, n, n, 1.0f, ga, gb, 0.0f, gc);
        fg_context_synchronize(c);
    };
    gemm();
    std::vector<double> wall(runners.size(), 0.0);
    double gemm_wall = 0;
    for (auto _ : state) {
        for (size_t i = 0; i < runners.size(); ++i) {
            const double t0 = wall_now();
            if (!runners[i]->run()) {
                state.SkipWithError(runners[i]->error.c_str());
                return;
            }
            wall[i] += wall_now() - t0;
        }
        const double t0 = wall_now();
        gemm();
        gemm_wall += wall_now() - t0;
    }
    if (state.iterations() == 0) return;
    const double iters = static_cast<double>(state.iterations());
    for (size_t i = 0; i < runners.size(); ++i) state.counters[std::string(steps[i].name) + "_ms"] = 1e3 * wall[i] / iters;
    const double sgemm = 2.0 * n * n * n * iters / gemm_wall;
    state.counters["sgemm_GFLOPs"] = sgemm * 1e-9;
    state.counters["x_LGBP"] = wall[2] / wall[1];
    state.counters["K4_x_K1"] = wall[3] / wall[2];
    const double step_flops = 3.0 * forward_gemm_flops(p);
    state.counters["BP_gemm_frac"] = step_flops * iters / wall[0] / sgemm;
    state.counters["LGBP_gemm_frac"] = step_flops * iters / wall[1] / sgemm;
}

const bool kRegistered = [] {
    std::vector<int32_t> backends = {FG_BACKEND_CPU};
    int32_t cuda = 0;
    if (fg_backend_probe(FG_BACKEND_CUDA, &cuda, nullptr, 0) == FG_OK && cuda) backends.push_back(FG_BACKEND_CUDA);
    for (int32_t backend : backends)
        for (const Preset& p : kPresets)
            for (int32_t method = FG_METHOD_BP; method <= FG_METHOD_LGFGA; ++method) {
                const bool backprop = method <= FG_METHOD_LGBP;  // K does not apply to backprop
                std::vector<int32_t> ks = backprop ? std::vector<int32_t>{1}
                                          : method == FG_METHOD_LGFGA ? std::vector<int32_t>{1, 2, 4, 8}
                                                                      : std::vector<int32_t>{1, 4};
                for (int32_t K : ks) {
                    std::string name = std::string("BM_MixerStep/") + p.name + "/" + kMethods[method] +
                                       (backprop ? "" : "/K" + std::to_string(K)) +
                                       (backend == FG_BACKEND_CUDA ? "/cuda" : "/cpu");
                    benchmark::RegisterBenchmark(name.c_str(), BM_MixerStep, backend, p, method, K, 0)
                        ->Unit(benchmark::kMillisecond)
                        ->UseRealTime();
                }
            }
    for (int32_t backend : backends)
        for (const Preset& p : kPresets)
            benchmark::RegisterBenchmark((std::string("BM_MixerRatio/") + p.name +
                                          (backend == FG_BACKEND_CUDA ? "/cuda" : "/cpu")).c_str(),
                                         BM_MixerRatio, backend, p)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
    for (int32_t backend : backends)
        for (const Preset& p : kPresets)
            for (int32_t K : {0, 1, 4, 16}) {
                const int32_t method = K == 0 ? FG_METHOD_LGBP : FG_METHOD_LGFGA;
                std::string name = std::string("BM_MixerContrastive/") + p.name + "/" + kMethods[method] +
                                   (K == 0 ? "" : "/K" + std::to_string(K)) +
                                   (backend == FG_BACKEND_CUDA ? "/cuda" : "/cpu");
                benchmark::RegisterBenchmark(name.c_str(), BM_MixerContrastive, backend, p, method, K)
                    ->Unit(benchmark::kMillisecond)
                    ->UseRealTime();
            }
    // The element-wise loops on one thread (GEMMs still on BLAS's threads): what the loop threads buy.
    for (const Preset& p : kPresets)
        for (int32_t method : {FG_METHOD_BP, FG_METHOD_LGBP, FG_METHOD_LGFGA}) {
            std::string name = std::string("BM_MixerStep/") + p.name + "/" + kMethods[method] +
                               (method == FG_METHOD_LGFGA ? "/K1" : "") + "/cpu_loops1";
            benchmark::RegisterBenchmark(name.c_str(), BM_MixerStep, FG_BACKEND_CPU, p, method, 1, 1)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
        }
    return true;
}();

}  // namespace
