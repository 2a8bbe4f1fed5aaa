// fg_gpu_parity: every entry of the op table (tests/native/ops_table) on a CPU context (the reference) and
// a CUDA context with identical inputs, one table row per entry. A row passes when the CUDA outputs match
// the float64 oracle and the CPU outputs element by element, and the CPU outputs match the oracle
// (|got - want| <= atol + rtol * |want|, both finite; outputs are NaN-poisoned first).
// Exit 0: all rows pass; 1: a row failed; 77: no usable CUDA backend here (ctest: SKIPPED).
// Usage: fg_gpu_parity [--filter SUBSTRING] [--device N] [--cpu-vs-cpu]
//   --filter      only entries whose "op case" label contains SUBSTRING (e.g. gemm, linear, mixer)
//   --cpu-vs-cpu  runs the "CUDA" side on a second CPU context: checks the harness itself anywhere
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "op_run.h"

namespace {

enum { CPU = 0, GPU = 1 };

void print_row(const optable::Case& entry, const optable::Verdict& oracle, const optable::Verdict& agree, bool pass) {
    char tol[64];
    std::snprintf(tol, sizeof tol, "rtol %.0e atol %.1e", agree.rtol, agree.atol);
    std::printf("| %-22s | %-48s | %9.2e | %9.2e | %9.2e | %-22s | %s |\n", entry.op.c_str(), entry.shape.c_str(),
                oracle.max_abs, agree.max_abs, agree.max_rel, tol, pass ? "PASS" : "FAIL");
}

}  // namespace

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

    fg_context* ctx[2] = {nullptr, nullptr};
    for (int s = 0; s < 2; ++s) {
        fg_context_options o{};
        o.size = sizeof o;
        o.backend = s == CPU || cpu_vs_cpu ? FG_BACKEND_CPU : FG_BACKEND_CUDA;
        o.device = device;
        o.seed = 1;
        if (fg_context_create(&o, &ctx[s]) != FG_OK) {
            // The probe said yes, so this is a failure, not a skip.
            std::printf("FAIL: creating the %s context: %s\n", s == CPU ? "cpu" : "cuda", fg_last_error());
            return 1;
        }
        fg_context_properties p{};
        p.size = sizeof p;
        fg_context_info(ctx[s], &p);
        std::printf("%s context: %s, GEMM %s\n", s == CPU ? "reference" : "checked  ", p.device_name, p.gemm_name);
    }
    std::printf("\n| %-22s | %-48s | %-9s | %-9s | %-9s | %-22s | %s |\n", "op", "case", "vs oracle", "vs cpu",
                "rel", "tolerance", "result");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(24, '-').c_str(), std::string(50, '-').c_str(),
                std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
                std::string(24, '-').c_str(), "--------");

    int passed = 0, failed = 0;
    for (const optable::Case& entry : optable::cases()) {
        if (!entry.parity || entry.label().find(filter) == std::string::npos) continue;
        const optable::Problem problem = entry.make();
        const std::vector<optable::Expect> expects = problem.oracle(problem);
        const optable::Outputs out[2] = {optable::run(ctx[CPU], problem), optable::run(ctx[GPU], problem)};
        const optable::Verdict cpu = optable::against_oracle(problem, expects, out[CPU]);
        const optable::Verdict gpu = optable::against_oracle(problem, expects, out[GPU]);
        const optable::Verdict agree = optable::against_reference(problem, expects, out[GPU], out[CPU]);
        const bool pass = cpu.pass && gpu.pass && agree.pass;
        print_row(entry, gpu, agree, pass);
        if (!pass) {
            std::printf("    FAIL %s\n", entry.label().c_str());
            for (const auto& [who, v] : {std::pair{"cpu vs oracle", &cpu}, {"cuda vs oracle", &gpu}, {"cuda vs cpu", &agree}})
                for (const std::string& n : v->notes) std::printf("      %s: %s\n", who, n.c_str());
        }
        (pass ? passed : failed)++;
    }

    uint64_t live[2] = {0, 0};
    for (int s = 0; s < 2; ++s) fg_context_live_bytes(ctx[s], &live[s]);
    // Every case's buffers are freed by now; what is left is context workspace (or a leak).
    std::printf("\nlive bytes after all cases: cpu %llu, cuda %llu\n", (unsigned long long)live[0],
                (unsigned long long)live[1]);
    fg_context_free(ctx[CPU]);
    fg_context_free(ctx[GPU]);
    std::printf("parity summary: %d PASS, %d FAIL\n", passed, failed);
    return failed ? 1 : 0;
}
