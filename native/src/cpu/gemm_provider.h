// The CPU GEMM provider: which sgemm the CPU backend calls, chosen once per process.
//
// Providers are loaded at run time, never linked, so the choice is the library's and not the
// dynamic linker's:
//   openblas  libopenblas.so.0 (or .so / .dll). Its core type comes from this CPU's CPUID features
//             (AVX-512 -> SkylakeX kernels, AVX2+FMA -> Haswell kernels) unless OPENBLAS_CORETYPE is
//             already set: OpenBLAS's own model-number table misses new CPUs and falls back to SSE3.
//   onednn    libdnnl.so.2's dnnl_sgemm (its own ISA dispatch from CPUID features). It threads with
//             OpenMP, so OMP_WAIT_POLICY is made PASSIVE before it loads unless the user set it.
//   internal  the cache-blocked C++ GEMM in gemm_internal.cpp: always there, slow.
// FG_GEMM_PROVIDER=auto|openblas|onednn|internal picks one (auto: openblas, else internal). A provider
// that was asked for by name and cannot load is an error at context creation, not a silent fallback.
#pragma once
#include <cstdint>
#include <string>

namespace fg::cpu {

// Row-major sgemm with the usual leading dimensions: C (m, n) = alpha op(A) op(B) + beta C.
using SgemmFn = void (*)(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                         int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

struct GemmProvider {
    std::string id;           // "openblas", "onednn", "internal"
    std::string description;  // e.g. "OpenBLAS 0.3.21 (SkylakeX kernels)"
    std::string kernel_isa;   // instruction set of the kernels in use: "AVX-512", "AVX2", "AVX", "SSE", "C++"
    std::string cpu_isa;      // the best this CPU and OS offer: "AVX-512", "AVX2", "AVX", "SSE"
    std::string warning;      // "" or what is wrong and how to fix it
    std::string error;        // "" or why the requested provider could not be loaded (then sgemm is null)
    SgemmFn sgemm = nullptr;
    void (*set_threads)(int) = nullptr;  // null: the provider has no thread control
    int (*get_threads)() = nullptr;
    // GEMMs with m*n*k below this run on the calling thread only, so row chunks of a batched GEMM may
    // run on the loop threads without nesting two pools (0: never split).
    int64_t serial_below_mnk = 0;
};

// The provider of this process: chosen and loaded on first use (thread-safe), then fixed.
const GemmProvider& gemm_provider();

// Loads provider `id` ("openblas", "onednn", "internal"); on failure sgemm is null and error says why.
// For the process's provider use gemm_provider(); this is for benchmarks that compare providers.
GemmProvider load_gemm_provider(const std::string& id);

// The best vector ISA of this CPU (checked against what the OS enables), as in GemmProvider::cpu_isa.
std::string cpu_vector_isa();

// The instruction set an OpenBLAS core type's kernels use ("Prescott" -> "SSE3", "SkylakeX" -> "AVX-512").
std::string openblas_core_isa(const std::string& core);

// Ranks ISA names ("C++" < "SSE*" < "AVX" < "AVX2" < "AVX-512") to compare what runs with what could.
int isa_rank(const std::string& isa);

}  // namespace fg::cpu
