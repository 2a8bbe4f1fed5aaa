// fg_gpu_parity: every op of the C ABI on CPU vs CUDA, one table row per case.
// Exit 0: all rows pass; 1: a row failed; 77: no usable CUDA backend here (ctest: SKIPPED).
// Usage: fg_gpu_parity [--filter SUBSTRING] [--device N] [--cpu-vs-cpu]
//   --cpu-vs-cpu  runs the "CUDA" side on a second CPU context: checks the harness itself anywhere
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "parity.h"

namespace parity {

namespace {
int g_pass = 0, g_fail = 0;
}

Twin::Twin(const Env& env, uint64_t nbytes) : bytes(nbytes) {
    for (int s = 0; s < 2; ++s)
        if (fg_buffer_alloc(env.ctx[s], nbytes, &b[s]) != FG_OK) {
            std::fprintf(stderr, "alloc of %llu bytes failed: %s\n", (unsigned long long)nbytes, fg_last_error());
            b[s] = nullptr;
        }
    poison();
}

Twin::~Twin() {
    fg_buffer_free(b[0]);
    fg_buffer_free(b[1]);
}

Twin::Twin(Twin&& o) noexcept : bytes(o.bytes) {
    b[0] = o.b[0], b[1] = o.b[1];
    o.b[0] = o.b[1] = nullptr;
}

Twin& Twin::operator=(Twin&& o) noexcept {
    std::swap(b[0], o.b[0]);
    std::swap(b[1], o.b[1]);
    std::swap(bytes, o.bytes);
    return *this;
}

void Twin::set(const void* host) const {
    for (int s = 0; s < 2; ++s)
        if (b[s]) fg_buffer_upload(b[s], 0, host, bytes);
}

void Twin::poison() const {
    for (int s = 0; s < 2; ++s)
        if (b[s]) fg_buffer_fill_f32(b[s], 0, bytes / 4, std::nanf(""));
}

std::vector<float> Twin::get(int side) const {
    std::vector<float> v(bytes / 4, std::nanf(""));
    if (b[side] && fg_buffer_download(b[side], 0, v.data(), v.size() * 4) != FG_OK)
        std::fill(v.begin(), v.end(), std::nanf(""));
    return v;
}

void Row::fail(const std::string& why) {
    pass = false;
    if (notes.size() < 12) notes.push_back(why);
}

bool Row::run(const std::function<fg_status(int)>& call) {
    for (int s = 0; s < 2; ++s) {
        fg_status st = call(s);
        if (st != FG_OK) {
            fail(std::string(s == CPU ? "cpu" : "cuda") + " call -> " + fg_status_string(st) + ": " + fg_last_error());
            return false;
        }
    }
    return true;
}

void Row::check(const std::string& what, const std::vector<float>& got, const std::vector<float>& want, double rt,
                double at) {
    rtol = std::max(rtol, rt);
    atol = std::max(atol, at);
    if (got.size() != want.size()) {
        fail(what + ": size " + std::to_string(got.size()) + " vs cpu " + std::to_string(want.size()));
        return;
    }
    size_t bad = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double g = got[i], w = want[i];
        const double err = std::fabs(g - w);
        const bool finite = std::isfinite(g) && std::isfinite(w);
        if (finite) {
            max_abs = std::max(max_abs, err);
            if (std::fabs(w) > at) max_rel = std::max(max_rel, err / std::fabs(w));
        }
        if (!finite || err > at + rt * std::fabs(w)) {
            if (bad < 5) {
                char line[256];
                std::snprintf(line, sizeof line, "%s[%zu of %zu]: cuda %.9g cpu %.9g (|diff| %.3g)%s", what.c_str(), i,
                              want.size(), g, w, err, finite ? "" : " not finite (unwritten or NaN)");
                notes.push_back(line);
            }
            ++bad;
        }
    }
    if (bad) {
        pass = false;
        notes.push_back(what + ": " + std::to_string(bad) + " of " + std::to_string(want.size()) + " elements differ");
    }
}

void report(const Row& r) {
    char tol[64];
    std::snprintf(tol, sizeof tol, "rtol %.0e atol %.1e", r.rtol, r.atol);
    std::printf("| %-22s | %-44s | %9.2e | %9.2e | %-22s | %s |\n", r.op.c_str(), r.shape.c_str(), r.max_abs, r.max_rel,
                tol, r.pass ? "PASS" : "FAIL");
    if (!r.pass) {
        std::printf("    FAIL %s %s\n", r.op.c_str(), r.shape.c_str());
        for (const std::string& n : r.notes) std::printf("      %s\n", n.c_str());
    }
    std::fflush(stdout);
    (r.pass ? g_pass : g_fail)++;
}

std::vector<float> uniform(size_t n, uint32_t seed, float scale, float offset) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng) + offset;
    return v;
}

double max_abs(const std::vector<float>& v) {
    double m = 0;
    for (float x : v)
        if (std::isfinite(x)) m = std::max(m, double(std::fabs(x)));
    return m;
}

std::string dims(std::initializer_list<int64_t> d) {
    std::string s;
    for (int64_t x : d) s += (s.empty() ? "" : "x") + std::to_string(x);
    return s;
}

}  // namespace parity

using namespace parity;

int main(int argc, char** argv) {
    const char* filter = "";
    int32_t device = 0;
    bool cpu_vs_cpu = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
        else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) device = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--cpu-vs-cpu")) cpu_vs_cpu = true;
        else {
            std::fprintf(stderr, "usage: %s [--filter SUBSTRING] [--device N] [--cpu-vs-cpu]\n", argv[0]);
            return 2;
        }
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);

    int32_t available = 0;
    char reason[512] = {0};
    fg_status ps = fg_backend_probe(FG_BACKEND_CUDA, &available, reason, sizeof reason);
    if (!cpu_vs_cpu && (ps != FG_OK || !available)) {
        std::printf("no CUDA device: %s\n", ps != FG_OK ? fg_last_error() : reason);
        return 77;
    }

    Env env;
    for (int s = 0; s < 2; ++s) {
        const int32_t backend = s == CPU || cpu_vs_cpu ? FG_BACKEND_CPU : FG_BACKEND_CUDA;
        fg_context_options o{sizeof(fg_context_options), backend, device, 0, 1, 0};
        fg_status st = fg_context_create(&o, &env.ctx[s]);
        if (st != FG_OK) {
            // The probe said yes, so this is a failure, not a skip.
            std::printf("FAIL: creating the %s context -> %s: %s\n", s == CPU ? "cpu" : "cuda", fg_status_string(st),
                        fg_last_error());
            return 1;
        }
    }
    for (int s = 0; s < 2; ++s) {
        fg_context_properties p{};
        p.size = sizeof p;
        fg_context_info(env.ctx[s], &p);
        std::printf("%s context: %s, GEMM %s\n", s == CPU ? "reference" : "checked  ", p.device_name, p.gemm_name);
    }
    std::printf("\n| %-22s | %-44s | %-9s | %-9s | %-22s | %s |\n", "op", "case", "max abs", "max rel", "tolerance",
                "result");
    std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(24, '-').c_str(), std::string(46, '-').c_str(),
                std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(24, '-').c_str(), "--------");

    struct Suite {
        const char* name;
        void (*fn)(const Env&);
    };
    const Suite suites[] = {{"buffers", suite_buffers},     {"gemm", suite_gemm},
                            {"random", suite_random},       {"linear", suite_linear},
                            {"layernorm", suite_layernorm}, {"relu", suite_relu},
                            {"local_loss", suite_local_loss}, {"contrastive_loss", suite_contrastive_loss},
                            {"estimators", suite_estimators},
                            {"optimizer", suite_optimizer}, {"mixer", suite_mixer}};
    for (const Suite& s : suites)
        if (std::strstr(s.name, filter)) s.fn(env);

    uint64_t live[2] = {0, 0};
    for (int s = 0; s < 2; ++s) fg_context_live_bytes(env.ctx[s], &live[s]);
    // Every case's buffers are freed by now; what is left is context workspace (or a leak).
    std::printf("\nlive bytes after all cases: cpu %llu, cuda %llu\n", (unsigned long long)live[0],
                (unsigned long long)live[1]);
    fg_context_free(env.ctx[0]);
    fg_context_free(env.ctx[1]);
    std::printf("parity summary: %d PASS, %d FAIL\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
