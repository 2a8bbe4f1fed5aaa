// One LocalMixer gradient step of every method at batch 100, K = 1 and 4, for the paper's MNIST
// (S/1/1, M/1/16) and CIFAR (M/8/16) shapes, on each backend. Filter with
// --benchmark_filter=BM_MixerStep/M8_16/LGFGA. The workspace is reported per method.
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

void BM_MixerStep(benchmark::State& state, int32_t backend, Preset p, int32_t method, int32_t tangents) {
    fg_context* ctx = fgbench::require(state, backend);
    if (!ctx) return;
    const int64_t B = 100;
    fg_mixer_config cfg{};
    cfg.size = sizeof cfg;
    cfg.image_height = p.h, cfg.image_width = p.w, cfg.image_channels = p.cin, cfg.classes = 10;
    cfg.blocks = p.blocks, cfg.grid = p.grid, cfg.channels = p.channels, cfg.groups = p.groups, cfg.seed = 1;
    fg_mixer* m = nullptr;
    if (fg_mixer_create(ctx, &cfg, &m) != FG_OK) {
        state.SkipWithError(fg_last_error());
        return;
    }
    fgbench::Buffer images(ctx, static_cast<uint64_t>(B) * p.h * p.w * p.cin, 0.1f);
    std::vector<int32_t> labels(B);
    for (int64_t n = 0; n < B; ++n) labels[n] = static_cast<int32_t>(n % 10);
    fg_buffer* lab = nullptr;
    fg_buffer_alloc(ctx, B * sizeof(int32_t), &lab);
    fg_buffer_upload(lab, 0, labels.data(), B * sizeof(int32_t));
    fg_step_options o{};
    o.size = sizeof o;
    o.method = method;
    o.tangents = tangents;
    o.seed = 3;
    o.head_lr = 1.0f;
    o.last_layer_lr = 0.1f;
    fg_step_stats st{};
    st.size = sizeof st;
    for (auto _ : state) {
        if (fg_mixer_gradients(m, B, images, lab, &o, &st) != FG_OK) {
            state.SkipWithError(fg_last_error());
            break;
        }
        fg_context_synchronize(ctx);
        ++o.step;
    }
    state.counters["workspace_MB"] = static_cast<double>(st.workspace_bytes) / (1 << 20);
    state.counters["examples/s"] = benchmark::Counter(static_cast<double>(B), benchmark::Counter::kIsIterationInvariantRate);
    fg_buffer_free(lab);
    fg_mixer_free(m);
}

const bool kRegistered = [] {
    for (int32_t backend : {FG_BACKEND_CPU, FG_BACKEND_CUDA})
        for (const Preset& p : kPresets)
            for (int32_t method = FG_METHOD_BP; method <= FG_METHOD_LGFGA; ++method)
                for (int32_t K : {1, 4}) {
                    const bool backprop = method <= FG_METHOD_LGBP;
                    if (backprop && K > 1) continue;  // K does not apply to backprop
                    std::string name = std::string("BM_MixerStep/") + p.name + "/" + kMethods[method] +
                                       (backprop ? "" : "/K" + std::to_string(K)) +
                                       (backend == FG_BACKEND_CUDA ? "/cuda" : "/cpu");
                    benchmark::RegisterBenchmark(name.c_str(), BM_MixerStep, backend, p, method, K)
                        ->Unit(benchmark::kMillisecond)
                        ->UseRealTime();
                }
    return true;
}();

}  // namespace
