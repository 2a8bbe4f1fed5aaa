// fg_gpu_bench: linear-layer kernels at the paper's layer shapes, plain std::chrono timing.
//   fused     one fg_linear_jvp over the (K+1)*R stacked rows (wdot = NULL, as in FG-A)
//   separate  K+1 calls of the K = 0 layer op, one per pass (one GEMM / batched GEMM each)
//   BP        a backprop layer step: forward (K = 0) + fg_linear_backward (dX, dW, db)
//   peak      one large square fg_gemm: the machine's FP32 GEMM rate the others are compared to
// Each time is the median of N runs after a warm-up, with fg_context_synchronize before the clock
// stops. Nothing here asserts on time. CUDA runs first (when available), then CPU; CPU cases above
// --cpu-max-gflop per call are skipped (they take seconds each on a CPU).
// --tf32 also runs the CUDA cases with TF32 GEMMs and reports how far a TF32 GEMM, and one training
// step's gradients, land from FP32.
// Usage: fg_gpu_bench [--quick] [--tf32] [--backend cpu|cuda|all] [--cpu-max-gflop X]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "forwardgrad.h"

namespace {

struct Layer {
    const char* config;
    const char* name;
    int32_t kind;
    int64_t patches, n, m, groups;  // rows of X = batch * patches
};

// METHOD.md section 3 configs: S/1/1, M/1/16, M/8/16, L/8/64 (token layers: n = m = C, groups = P).
const Layer kLayers[] = {
    {"S/1/1", "dense 784->256", FG_LAYER_DENSE, 1, 784, 256, 1},
    {"M/1/16", "dense 784->512", FG_LAYER_DENSE, 1, 784, 512, 1},
    {"M/1/16", "group 512 G16", FG_LAYER_GROUP, 1, 512, 512, 16},
    {"M/8/16", "dense 512->512", FG_LAYER_DENSE, 64, 512, 512, 1},
    {"M/8/16", "group 512 G16", FG_LAYER_GROUP, 64, 512, 512, 16},
    {"M/8/16", "token P64 C512", FG_LAYER_TOKEN, 64, 512, 512, 64},
    {"L/8/64", "dense 2048->2048", FG_LAYER_DENSE, 64, 2048, 2048, 1},
    {"L/8/64", "group 2048 G64", FG_LAYER_GROUP, 64, 2048, 2048, 64},
    {"L/8/64", "token P64 C2048", FG_LAYER_TOKEN, 64, 2048, 2048, 64},
};

int64_t weight_count(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.groups * l.groups : l.n * l.m / l.groups; }
int64_t bias_count(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.groups : l.m; }
// Flops of one forward pass over `rows` rows.
double layer_flops(const Layer& l, int64_t rows) {
    return l.kind == FG_LAYER_TOKEN ? 2.0 * rows * l.groups * l.n : 2.0 * rows * l.n * l.m / l.groups;
}

struct Options {
    bool quick = false;
    bool cpu = true, cuda = true;
    bool tf32 = false;
    double cpu_max_gflop = 2.0;
    double target_ms = 200;  // timed runs per case: about this long in total
    int min_reps = 3, max_reps = 20;
};

// A device buffer of `floats` N(0, 1) values (freed on scope exit).
struct Buf {
    fg_buffer* b = nullptr;
    Buf(fg_context* c, int64_t floats, uint32_t id) {
        if (fg_buffer_alloc(c, uint64_t(floats) * 4, &b) == FG_OK) fg_random_normal(c, b, floats, 1, 0, id);
        else b = nullptr;
    }
    ~Buf() { fg_buffer_free(b); }
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    operator fg_buffer*() const { return b; }
};

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median wall time of f() in ms, synchronised; < 0 when a call fails (the message is printed).
double median_ms(fg_context* c, const std::function<fg_status()>& f, const Options& o) {
    auto timed = [&]() -> double {
        const double t0 = now_ms();
        fg_status s = f();
        if (s == FG_OK) s = fg_context_synchronize(c);
        if (s != FG_OK) {
            std::printf("    error: %s: %s\n", fg_status_string(s), fg_last_error());
            return -1;
        }
        return now_ms() - t0;
    };
    if (timed() < 0) return -1;  // warm-up: plug-in kernels, cuBLAS heuristics, page faults
    const double first = timed();
    if (first < 0) return -1;
    const int reps = std::clamp(int(o.target_ms / std::max(first, 1e-3)), o.min_reps, o.max_reps);
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        const double ms = timed();
        if (ms < 0) return -1;
        t.push_back(ms);
    }
    std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
    return t[t.size() / 2];
}

double gflops(double flops, double ms) { return ms > 0 ? flops / (ms * 1e6) : 0; }

// One large square FP32 GEMM.
double peak_gflops(fg_context* c, int64_t n, const Options& o) {
    Buf a(c, n * n, 1), b(c, n * n, 2), y(c, n * n, 3);
    const double ms = median_ms(c, [&] { return fg_gemm(c, FG_NO_TRANS, FG_NO_TRANS, n, n, n, 1.0f, a, b, 0.0f, y); }, o);
    const double g = gflops(2.0 * n * n * n, ms);
    std::printf("peak: fg_gemm %lldx%lldx%lld FP32: %.3f ms, %.1f GFLOP/s\n\n", (long long)n, (long long)n, (long long)n,
                ms, g);
    return g;
}

std::string fmt(const char* f, double v) {
    char s[32];
    std::snprintf(s, sizeof s, f, v);
    return s;
}

fg_context* create_context(int32_t backend, bool tf32) {
    fg_context_options co{};
    co.size = sizeof co;
    co.backend = backend;
    co.seed = 1;
    co.gemm_tf32 = tf32 ? 1 : 0;
    fg_context* c = nullptr;
    return fg_context_create(&co, &c) == FG_OK ? c : nullptr;
}

// The same n x n x n GEMM (inputs from fg_random_normal: identical on both contexts) in FP32 and
// TF32: how far TF32 lands, relative to the FP32 result's norm and to its largest element.
void tf32_accuracy(int64_t n) {
    std::vector<float> out[2];
    for (int tf32 = 0; tf32 < 2; ++tf32) {
        fg_context* c = create_context(FG_BACKEND_CUDA, tf32 == 1);
        if (!c) {
            std::printf("TF32 accuracy: context failed: %s\n\n", fg_last_error());
            return;
        }
        {
            Buf a(c, n * n, 1), b(c, n * n, 2), y(c, n * n, 3);
            out[tf32].resize(static_cast<size_t>(n * n));
            if (fg_gemm(c, FG_NO_TRANS, FG_NO_TRANS, n, n, n, 1.0f, a, b, 0.0f, y) != FG_OK ||
                fg_buffer_download(y, 0, out[tf32].data(), out[tf32].size() * 4) != FG_OK) {
                std::printf("TF32 accuracy: GEMM failed: %s\n\n", fg_last_error());
                fg_context_free(c);
                return;
            }
        }
        fg_context_free(c);
    }
    double diff2 = 0, ref2 = 0, max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < out[0].size(); ++i) {
        const double d = double(out[1][i]) - double(out[0][i]);
        diff2 += d * d;
        ref2 += double(out[0][i]) * double(out[0][i]);
        max_diff = std::max(max_diff, std::fabs(d));
        max_ref = std::max(max_ref, std::fabs(double(out[0][i])));
    }
    std::printf("TF32 vs FP32, %lldx%lldx%lld GEMM of N(0,1) inputs: relative Frobenius error %.2e, largest "
                "difference %.2e (%.2e of the largest |C|)\n\n",
                (long long)n, (long long)n, (long long)n, std::sqrt(diff2 / std::max(ref2, 1e-300)), max_diff,
                max_diff / std::max(max_ref, 1e-300));
}

// One training step's gradients (`method`, same model, batch and tangents) on an FP32 and a TF32
// context: every parameter's gradient downloaded and compared, the M/8/16 model at batch 64.
struct StepResult {
    float loss = 0;  // the blocks' mean local loss (the final head starts at zero: its loss is ln 10)
    std::vector<std::vector<float>> grads;
    std::vector<std::string> names;
};

bool mixer_step(bool tf32, int32_t method, StepResult& r) {
    fg_context* c = create_context(FG_BACKEND_CUDA, tf32);
    if (!c) return false;
    fg_mixer_config cfg{};
    cfg.size = sizeof cfg;
    cfg.image_height = cfg.image_width = 32;
    cfg.image_channels = 3;
    cfg.classes = 10;
    cfg.blocks = 4;
    cfg.grid = 8;
    cfg.channels = 512;
    cfg.groups = 16;
    cfg.seed = 7;
    const int64_t batch = 64;
    fg_mixer* m = nullptr;
    bool ok = fg_mixer_create(c, &cfg, &m) == FG_OK;
    if (ok) {
        Buf images(c, batch * 32 * 32 * 3, 90);
        std::vector<int32_t> labels(static_cast<size_t>(batch));
        for (int64_t n = 0; n < batch; ++n) labels[static_cast<size_t>(n)] = static_cast<int32_t>((n * 7) % 10);
        fg_buffer* lab = nullptr;
        ok = fg_buffer_alloc(c, labels.size() * 4, &lab) == FG_OK &&
             fg_buffer_upload(lab, 0, labels.data(), labels.size() * 4) == FG_OK;
        fg_step_options so{};
        so.size = sizeof so;
        so.method = method;
        so.tangents = 4;
        so.seed = 3;
        so.head_lr = 1.0f;
        so.last_layer_lr = 0.1f;
        fg_step_stats st{};
        st.size = sizeof st;
        ok = ok && fg_mixer_gradients(m, batch, images, lab, &so, &st) == FG_OK;
        int32_t tensors = 0;
        int64_t elements = 0;
        ok = ok && fg_mixer_param_count(m, &tensors, &elements) == FG_OK;
        for (int32_t i = 0; ok && i < tensors; ++i) {
            fg_param_info info{};
            info.size = sizeof info;
            fg_buffer *param = nullptr, *grad = nullptr;
            ok = fg_mixer_param_info(m, i, &info) == FG_OK && fg_mixer_param(m, i, &param, &grad) == FG_OK;
            std::vector<float> g(static_cast<size_t>(info.elements));
            ok = ok && fg_buffer_download(grad, 0, g.data(), g.size() * 4) == FG_OK;
            r.grads.push_back(std::move(g));
            r.names.emplace_back(info.name);
        }
        for (int32_t k = 0; k < st.blocks; ++k) r.loss += st.block_loss[k] / static_cast<float>(st.blocks);
        fg_buffer_free(lab);
    }
    if (!ok) std::printf("TF32 step effect: %s\n", fg_last_error());
    fg_mixer_free(m);
    fg_context_free(c);
    return ok;
}

void tf32_step_effect(int32_t method, const char* name) {
    StepResult fp32, tf32;
    if (!mixer_step(false, method, fp32) || !mixer_step(true, method, tf32)) return;
    double diff2 = 0, ref2 = 0, worst_cos = 1;
    std::string worst;
    for (size_t t = 0; t < fp32.grads.size(); ++t) {
        double dot = 0, a2 = 0, b2 = 0;
        for (size_t i = 0; i < fp32.grads[t].size(); ++i) {
            const double a = fp32.grads[t][i], b = tf32.grads[t][i];
            dot += a * b, a2 += a * a, b2 += b * b, diff2 += (a - b) * (a - b);
        }
        ref2 += a2;
        const double cos = a2 > 0 && b2 > 0 ? dot / std::sqrt(a2 * b2) : 1.0;
        if (cos < worst_cos) worst_cos = cos, worst = fp32.names[t];
    }
    std::printf("TF32 vs FP32, one %s step of M/8/16 at batch 64: mean block loss %.7f vs %.7f; all gradients' relative L2 "
                "difference %.2e; lowest per-tensor cosine %.6f (%s)\n",
                name, tf32.loss, fp32.loss, std::sqrt(diff2 / std::max(ref2, 1e-300)), worst_cos,
                worst.empty() ? "-" : worst.c_str());
}

void run_backend(int32_t backend, bool tf32, const Options& o) {
    const bool is_cpu = backend == FG_BACKEND_CPU;
    const char* be = is_cpu ? "cpu" : (tf32 ? "cuda-tf32" : "cuda");
    fg_context* c = create_context(backend, tf32);
    if (!c) {
        std::printf("## %s: context failed: %s\n\n", be, fg_last_error());
        return;
    }
    fg_context_properties p{};
    p.size = sizeof p;
    fg_context_info(c, &p);
    std::printf("## %s: %s, GEMM %s\n", be, p.device_name, p.gemm_name);
    if (!is_cpu)
        std::printf("%s\n", tf32 ? "GEMMs on TF32 tensor cores (fg_context_options.gemm_tf32 = 1)."
                                  : "FP32 throughout: cuBLAS default math mode (TF32 off).");
    const int64_t peak_n = is_cpu ? (o.quick ? 1024 : 2048) : (o.quick ? 4096 : 8192);
    const double peak = peak_gflops(c, peak_n, o);

    std::printf("| backend | config | layer | B | K | fused ms | fused GFLOP/s | fused %% peak | separate ms | "
                "separate GFLOP/s | BP ms | BP GFLOP/s | fused/separate | fused/BP |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    const double cap = is_cpu ? o.cpu_max_gflop * 1e9 : 1e300;
    const std::vector<int64_t> batches = o.quick ? std::vector<int64_t>{100} : std::vector<int64_t>{100, 256};
    const std::vector<int64_t> ks = o.quick ? std::vector<int64_t>{1, 4} : std::vector<int64_t>{1, 2, 4, 8};
    const int64_t kmax = ks.back();
    int skipped = 0;
    for (const Layer& l : kLayers)
        for (int64_t batch : batches) {
            const int64_t R = batch * l.patches;
            const double f1 = layer_flops(l, R);
            if (2 * f1 > cap) {  // not even K = 1 fits the CPU budget
                skipped += int(ks.size());
                continue;
            }
            // Stacked buffers sized for the largest K; smaller K use their front.
            Buf xx(c, (kmax + 1) * R * l.n, 10), yy(c, (kmax + 1) * R * l.m, 11), w(c, weight_count(l), 12),
                b(c, bias_count(l), 13), dy(c, R * l.m, 14), dx(c, R * l.n, 15), dw(c, weight_count(l), 16),
                db(c, bias_count(l), 17);
            std::vector<Buf*> xs, ys;  // separate (R, n) / (R, m) buffers per pass
            for (int64_t k = 0; k <= kmax; ++k) {
                xs.push_back(new Buf(c, R * l.n, uint32_t(20 + k)));
                ys.push_back(new Buf(c, R * l.m, uint32_t(40 + k)));
            }
            double bp_ms = -1;
            if (3 * f1 <= cap)
                bp_ms = median_ms(c, [&] {
                    fg_status s = fg_linear_jvp(c, l.kind, R, l.n, l.m, l.groups, 0, xs[0]->b, w, b, nullptr, ys[0]->b);
                    return s != FG_OK ? s : fg_linear_backward(c, l.kind, R, l.n, l.m, l.groups, xs[0]->b, w, dy, dx, dw, db, 0);
                }, o);
            for (int64_t K : ks) {
                const double flops = (K + 1) * f1;
                if (flops > cap) {
                    ++skipped;
                    continue;
                }
                const double fused = median_ms(c, [&] {
                    return fg_linear_jvp(c, l.kind, R, l.n, l.m, l.groups, K, xx, w, b, nullptr, yy);
                }, o);
                const double sep = median_ms(c, [&] {
                    for (int64_t k = 0; k <= K; ++k) {  // the bias goes to the primal pass only
                        fg_status s = fg_linear_jvp(c, l.kind, R, l.n, l.m, l.groups, 0, xs[k]->b, w, k == 0 ? b.b : nullptr,
                                                    nullptr, ys[k]->b);
                        if (s != FG_OK) return s;
                    }
                    return fg_status(FG_OK);
                }, o);
                std::printf("| %s | %s | %s | %lld | %lld | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", be, l.config,
                            l.name, (long long)batch, (long long)K, fmt("%.3f", fused).c_str(),
                            fmt("%.1f", gflops(flops, fused)).c_str(),
                            fmt("%.0f%%", 100 * gflops(flops, fused) / std::max(peak, 1e-9)).c_str(),
                            fmt("%.3f", sep).c_str(), fmt("%.1f", gflops(flops, sep)).c_str(),
                            bp_ms > 0 ? fmt("%.3f", bp_ms).c_str() : "-",
                            bp_ms > 0 ? fmt("%.1f", gflops(3 * f1, bp_ms)).c_str() : "-",
                            fused > 0 && sep > 0 ? fmt("%.2f", fused / sep).c_str() : "-",
                            fused > 0 && bp_ms > 0 ? fmt("%.2f", fused / bp_ms).c_str() : "-");
            }
            for (Buf* q : xs) delete q;
            for (Buf* q : ys) delete q;
        }
    if (skipped)
        std::printf("\n%s: %d cases above %.1f GFLOP per call skipped (--cpu-max-gflop)\n", be, skipped, o.cpu_max_gflop);
    std::printf("\nfused/separate and fused/BP are time ratios (< 1: fused is faster). FLOPs: fused and separate "
                "(K+1) forward passes, BP 3 (forward, dX, dW).\n\n");
    fg_context_free(c);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) o.quick = true;
        else if (!std::strcmp(argv[i], "--tf32")) o.tf32 = true;
        else if (!std::strcmp(argv[i], "--backend") && i + 1 < argc) {
            const std::string v = argv[++i];
            o.cpu = v == "cpu" || v == "all";
            o.cuda = v == "cuda" || v == "all";
        } else if (!std::strcmp(argv[i], "--cpu-max-gflop") && i + 1 < argc) o.cpu_max_gflop = std::atof(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--quick] [--tf32] [--backend cpu|cuda|all] [--cpu-max-gflop X]\n", argv[0]);
            return 2;
        }
    }
    if (o.quick) {
        o.target_ms = 30, o.min_reps = 2, o.max_reps = 5;
        o.cpu_max_gflop = std::min(o.cpu_max_gflop, 0.5);
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("fg_gpu_bench %s (%s)\n\n", fg_version(), o.quick ? "quick" : "full");
    int32_t available = 0;
    char reason[512] = {0};
    fg_backend_probe(FG_BACKEND_CUDA, &available, reason, sizeof reason);
    if (o.cuda) {
        if (available) {
            run_backend(FG_BACKEND_CUDA, false, o);
            if (o.tf32) {
                tf32_accuracy(o.quick ? 1024 : 4096);
                tf32_step_effect(FG_METHOD_LGBP, "LG-BP");
                tf32_step_effect(FG_METHOD_LGFGA, "LG-FG-A (K = 4)");
                std::printf("\n");
                run_backend(FG_BACKEND_CUDA, true, o);
            }
        } else {
            std::printf("## cuda: not available: %s\n\n", reason);
        }
    }
    if (o.cpu) run_backend(FG_BACKEND_CPU, false, o);
    return 0;
}
