// fg_gpu_bench: the op table's benchmark entries (tests/native/ops_table), plain std::chrono timing.
// Each entry is checked once against its float64 oracle before it is timed (a wrong kernel is reported,
// not timed); its time is the median of N runs after a warm-up, with fg_context_synchronize before the
// clock stops, and its rate comes from the table's flop / byte count. Nothing here asserts on time.
// The linear-layer entries at the paper's shapes give the comparison table:
//   fused     BM_LinearJvp: one fg_linear_jvp over the (K+1)*R stacked rows (wdot = NULL, as in FG-A)
//   separate  BM_LinearSeparate: K+1 calls of the K = 0 layer op, one per pass
//   BP        BM_LinearBackprop: a backprop layer step, forward (K = 0) + fg_linear_backward (dX, dW, db)
//   peak      BM_GemmSquare: one large square fg_gemm, the FP32 GEMM rate the others are compared to
// CUDA runs first (when available), then CPU; CPU entries above --cpu-max-gflop per call are skipped.
// --tf32 also runs the CUDA entries with TF32 GEMMs (not checked against the FP32 oracle: see the TF32
// accuracy lines) and reports how far a TF32 GEMM, and one training step's gradients, land from FP32.
// Usage: fg_gpu_bench [--quick] [--tf32] [--backend cpu|cuda|all] [--cpu-max-gflop X]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "op_run.h"

namespace {

struct Options {
    bool quick = false;
    bool cpu = true, cuda = true;
    bool tf32 = false;
    double cpu_max_gflop = 2.0;
    double target_ms = 200;  // timed runs per entry: about this long in total
    int min_reps = 3, max_reps = 20;
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

std::string fmt(const char* f, double v) {
    char s[32];
    std::snprintf(s, sizeof s, f, v);
    return s;
}

// Entries a run times (fg_bench has them all): the fused, separate and backprop layer entries and the
// BM_Op kernels; the TF32 pass only the fused and backprop ones; quick keeps batch 100 and K = 1, 4.
bool wanted(const optable::Case& e, const Options& o, bool tf32) {
    const std::string& f = e.bench_family;
    if (f != "BM_LinearJvp" && f != "BM_LinearBackprop" && (tf32 || (f != "BM_LinearSeparate" && f != "BM_Op")))
        return false;
    if (o.quick && (e.bench_rest.find("/B256") != std::string::npos || e.bench_rest.find("/K2") != std::string::npos ||
                    e.bench_rest.find("/K8") != std::string::npos))
        return false;
    return true;
}

// The entry's name with the backend in its place: BM_LinearJvp/cuda/S1_1/dense_784x256/B100/K1.
std::string bench_name(const optable::Case& e, const char* be) { return e.bench_family + "/" + be + "/" + e.bench_rest; }

struct Timing {
    double ms = -1;
};

void run_backend(int32_t backend, bool tf32, const Options& o) {
    const bool is_cpu = backend == FG_BACKEND_CPU;
    const char* be = is_cpu ? "cpu" : (tf32 ? "cuda-tf32" : "cuda");
    std::string why;
    fg_context* c = optable::create_context(backend, &why, tf32 ? 1 : 0);
    if (!c) {
        std::printf("## %s: context failed: %s\n\n", be, why.c_str());
        return;
    }
    fg_context_properties p{};
    p.size = sizeof p;
    fg_context_info(c, &p);
    std::printf("## %s: %s, GEMM %s\n", be, p.device_name, p.gemm_name);
    if (!is_cpu)
        std::printf("%s\n", tf32 ? "GEMMs on TF32 tensor cores (fg_context_options.gemm_tf32 = 1)."
                                  : "FP32 throughout: cuBLAS default math mode (TF32 off).");
    const std::string peak_rest = "n" + std::to_string(is_cpu ? (o.quick ? 1024 : 2048) : (o.quick ? 4096 : 8192));
    double peak = 0;
    for (const optable::Case& e : optable::cases())
        if (e.bench_family == "BM_GemmSquare" && e.bench_rest == peak_rest) {
            auto prep = optable::prepare(c, e, false);
            const double ms = median_ms(c, [&] { return prep->bound->call(); }, o);
            peak = ms > 0 ? e.cost.flops / (ms * 1e6) : 0;
            std::printf("peak: fg_gemm %s FP32%s: %.3f ms, %.1f GFLOP/s\n\n", e.shape.c_str(), tf32 ? " (TF32)" : "", ms,
                        peak);
        }

    std::printf("| backend | benchmark | ms | GFLOP/s | GB/s | %% peak | oracle check |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    const double cap = is_cpu ? o.cpu_max_gflop * 1e9 : 1e300;
    std::map<std::string, Timing> times;  // by benchmark name, for the ratios below
    int skipped = 0;
    for (const optable::Case& e : optable::cases()) {
        if (!wanted(e, o, tf32)) continue;
        if (e.cost.flops > cap || e.cost.bytes > cap) {
            ++skipped;
            continue;
        }
        const std::string name = bench_name(e, be);
        auto prep = optable::prepare(c, e, !tf32);
        std::string check = tf32 ? "TF32: not checked" : prep->verdict.pass ? "pass" : "FAIL";
        double ms = -1;
        if (prep->verdict.pass) ms = median_ms(c, [&] { return prep->bound->call(); }, o);
        times[name].ms = ms;
        const double gflops = ms > 0 && e.cost.flops > 0 ? e.cost.flops / (ms * 1e6) : 0;
        const double gbs = ms > 0 && e.cost.bytes > 0 ? e.cost.bytes / (ms * 1e6) : 0;
        std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", be, name.c_str(), ms > 0 ? fmt("%.3f", ms).c_str() : "-",
                    gflops > 0 ? fmt("%.1f", gflops).c_str() : "-", gbs > 0 ? fmt("%.1f", gbs).c_str() : "-",
                    gflops > 0 && peak > 0 ? fmt("%.0f%%", 100 * gflops / peak).c_str() : "-", check.c_str());
        if (!prep->verdict.pass)
            for (const std::string& n : prep->verdict.notes) std::printf("    %s: %s\n", name.c_str(), n.c_str());
    }
    if (skipped)
        std::printf("\n%s: %d entries above %.1f GFLOP (or GB) per call skipped (--cpu-max-gflop)\n", be, skipped,
                    o.cpu_max_gflop);

    // The fused JVP against the same work as K+1 calls and against a backprop layer step.
    std::printf("\n| layer | backend | fused/separate | fused/BP |\n|---|---|---|---|\n");
    const std::string jvp = std::string("BM_LinearJvp/") + be + "/";
    for (const auto& [name, t] : times) {
        if (name.rfind(jvp, 0) != 0 || t.ms <= 0) continue;
        const std::string rest = name.substr(jvp.size());
        const auto sep = times.find(std::string("BM_LinearSeparate/") + be + "/" + rest);
        const auto bp = times.find(std::string("BM_LinearBackprop/") + be + "/" + rest.substr(0, rest.rfind("/K")));
        std::printf("| %s | %s | %s | %s |\n", rest.c_str(), be,
                    sep != times.end() && sep->second.ms > 0 ? fmt("%.2f", t.ms / sep->second.ms).c_str() : "-",
                    bp != times.end() && bp->second.ms > 0 ? fmt("%.2f", t.ms / bp->second.ms).c_str() : "-");
    }
    std::printf("\nfused/separate and fused/BP are time ratios (< 1: fused is faster). FLOPs: fused and separate "
                "(K+1) forward passes, BP 3 (forward, dX, dW).\n\n");
    fg_context_free(c);
}

// ---------------------------------------------------------------- TF32 against FP32

// The same n x n x n GEMM (inputs from fg_random_normal: identical on both contexts) in FP32 and TF32: how
// far TF32 lands, relative to the FP32 result's norm and to its largest element.
void tf32_accuracy(int64_t n) {
    std::vector<float> out[2];
    for (int tf32 = 0; tf32 < 2; ++tf32) {
        fg_context* c = optable::create_context(FG_BACKEND_CUDA, nullptr, tf32);
        if (!c) {
            std::printf("TF32 accuracy: context failed: %s\n\n", fg_last_error());
            return;
        }
        fg_buffer *a = nullptr, *b = nullptr, *y = nullptr;
        out[tf32].resize(size_t(n * n));
        const bool ok = fg_buffer_alloc(c, uint64_t(n * n) * 4, &a) == FG_OK &&
                        fg_buffer_alloc(c, uint64_t(n * n) * 4, &b) == FG_OK &&
                        fg_buffer_alloc(c, uint64_t(n * n) * 4, &y) == FG_OK &&
                        fg_random_normal(c, a, uint64_t(n * n), 1, 0, 1) == FG_OK &&
                        fg_random_normal(c, b, uint64_t(n * n), 1, 0, 2) == FG_OK &&
                        fg_gemm(c, FG_NO_TRANS, FG_NO_TRANS, n, n, n, 1.0f, a, b, 0.0f, y) == FG_OK &&
                        fg_buffer_download(y, 0, out[tf32].data(), out[tf32].size() * 4) == FG_OK;
        if (!ok) std::printf("TF32 accuracy: GEMM failed: %s\n\n", fg_last_error());
        fg_buffer_free(a), fg_buffer_free(b), fg_buffer_free(y);
        fg_context_free(c);
        if (!ok) return;
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

// One training step's gradients (`method`, the M/8/16 model at batch 64, same batch and tangents) on an
// FP32 and a TF32 context: every parameter's gradient downloaded and compared.
struct StepResult {
    float loss = 0;  // the blocks' mean local loss
    std::vector<std::vector<float>> grads;
    std::vector<std::string> names;
};

bool mixer_step(bool tf32, int32_t method, StepResult& r) {
    fg_context* c = optable::create_context(FG_BACKEND_CUDA, nullptr, tf32 ? 1 : 0);
    if (!c) return false;
    fg_mixer_config cfg{};
    cfg.size = sizeof cfg;
    cfg.image_height = cfg.image_width = 32;
    cfg.image_channels = 3, cfg.classes = 10, cfg.blocks = 4, cfg.grid = 8, cfg.channels = 512, cfg.groups = 16;
    cfg.seed = 7;
    const int64_t batch = 64;
    fg_mixer* m = nullptr;
    fg_buffer *images = nullptr, *lab = nullptr;
    std::vector<int32_t> labels(static_cast<size_t>(batch));
    for (int64_t n = 0; n < batch; ++n) labels[static_cast<size_t>(n)] = static_cast<int32_t>((n * 7) % 10);
    bool ok = fg_mixer_create(c, &cfg, &m) == FG_OK && fg_buffer_alloc(c, uint64_t(batch) * 32 * 32 * 3 * 4, &images) == FG_OK &&
              fg_random_normal(c, images, uint64_t(batch) * 32 * 32 * 3, 1, 0, 90) == FG_OK &&
              fg_buffer_alloc(c, labels.size() * 4, &lab) == FG_OK &&
              fg_buffer_upload(lab, 0, labels.data(), labels.size() * 4) == FG_OK;
    fg_step_options so{};
    so.size = sizeof so, so.method = method, so.tangents = 4, so.seed = 3, so.head_lr = 1.0f, so.last_layer_lr = 0.1f;
    fg_step_stats st{};
    st.size = sizeof st;
    ok = ok && fg_mixer_gradients(m, batch, images, lab, &so, &st) == FG_OK;
    int32_t tensors = 0;
    ok = ok && fg_mixer_param_count(m, &tensors, nullptr) == FG_OK;
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
    if (!ok) std::printf("TF32 step effect: %s\n", fg_last_error());
    fg_buffer_free(images), fg_buffer_free(lab);
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
    std::string reason;
    const bool cuda = optable::backend_available(FG_BACKEND_CUDA, &reason);
    if (o.cuda) {
        if (cuda) {
            run_backend(FG_BACKEND_CUDA, false, o);
            if (o.tf32) {
                tf32_accuracy(o.quick ? 1024 : 4096);
                tf32_step_effect(FG_METHOD_LGBP, "LG-BP");
                tf32_step_effect(FG_METHOD_LGFGA, "LG-FG-A (K = 4)");
                std::printf("\n");
                run_backend(FG_BACKEND_CUDA, true, o);
            }
        } else {
            std::printf("## cuda: not available: %s\n\n", reason.c_str());
        }
    }
    if (o.cpu) run_backend(FG_BACKEND_CPU, false, o);
    return 0;
}
