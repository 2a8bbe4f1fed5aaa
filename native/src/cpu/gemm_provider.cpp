// Choosing and loading the CPU GEMM provider (see gemm_provider.h).
#include "gemm_provider.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <sstream>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace fg::cpu {

void sgemm_internal(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float beta, float* c, int64_t ldc);  // gemm_internal.cpp

namespace {

// ---- run-time libraries

void* open_first(std::initializer_list<const char*> names, std::string& tried) {
    for (const char* name : names) {
#if defined(_WIN32)
        if (HMODULE h = LoadLibraryA(name)) return reinterpret_cast<void*>(h);
#else
        if (void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) return h;
#endif
        tried += tried.empty() ? name : std::string(", ") + name;
    }
    return nullptr;
}

template <class F>
F symbol(void* lib, const char* name) {
#if defined(_WIN32)
    return reinterpret_cast<F>(GetProcAddress(reinterpret_cast<HMODULE>(lib), name));
#else
    return reinterpret_cast<F>(dlsym(lib, name));
#endif
}

// Sets an environment variable for the duration of a library load, unless the user set it.
class ScopedDefaultEnv {
public:
    ScopedDefaultEnv(const char* name, const std::string& value) : name_(name) {
        if (value.empty() || std::getenv(name)) return;
        set_ = true;
#if defined(_WIN32)
        _putenv_s(name, value.c_str());
#else
        setenv(name, value.c_str(), 1);
#endif
    }
    ~ScopedDefaultEnv() {
        if (!set_) return;
#if defined(_WIN32)
        _putenv_s(name_, "");
#else
        unsetenv(name_);
#endif
    }
    bool applied() const { return set_; }

private:
    const char* name_;
    bool set_ = false;
};

// Whether a provider runs generic kernels on a CPU that has AVX2 or better: worth a warning.
bool runs_generic_kernels(const GemmProvider& p) {
    return isa_rank(p.kernel_isa) < isa_rank("AVX2") && isa_rank(p.cpu_isa) >= isa_rank("AVX2");
}

// ---- OpenBLAS

constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                            int);
CblasSgemm g_cblas_sgemm = nullptr;

int as_ld(int64_t ld) { return static_cast<int>(ld > 1 ? ld : 1); }

void sgemm_cblas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    g_cblas_sgemm(kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans, tb ? kCblasTrans : kCblasNoTrans,
                  static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, as_ld(lda), b, as_ld(ldb),
                  beta, c, as_ld(ldc));
}

// OpenBLAS's kernels for this CPU's features, when its own detection may miss the model.
std::string openblas_core_for_cpu(const std::string& isa) {
    if (isa == "AVX-512") return "SkylakeX";
    if (isa == "AVX2") return "Haswell";
    return "";
}

GemmProvider load_openblas() {
    GemmProvider p;
    p.id = "openblas";
    p.cpu_isa = cpu_vector_isa();
    const std::string wanted = openblas_core_for_cpu(p.cpu_isa);
    const char* user_core = std::getenv("OPENBLAS_CORETYPE");
    const std::string user = user_core ? user_core : "";
    std::string tried;
    void* lib = nullptr;
    bool chose_core = false;
    {
        // Both are read once, by OpenBLAS's load-time init. Its idle threads otherwise spin (sched_yield)
        // for 2^28 cycles after every GEMM, on the CPUs the element-wise loops run on next; 2^4 lets
        // them sleep at once (a GEMM of ~1 ms or more does not notice the wake-up).
        ScopedDefaultEnv core("OPENBLAS_CORETYPE", wanted);
        ScopedDefaultEnv timeout("OPENBLAS_THREAD_TIMEOUT", "4");
        chose_core = core.applied();
#if defined(_WIN32)
        lib = open_first({"libopenblas.dll", "openblas.dll"}, tried);
#elif defined(__APPLE__)
        lib = open_first({"libopenblas.0.dylib", "libopenblas.dylib"}, tried);
#else
        lib = open_first({"libopenblas.so.0", "libopenblas.so"}, tried);
#endif
    }
    if (!lib) {
        p.error = "OpenBLAS could not be loaded (tried " + tried +
                  "): install it (Debian/Ubuntu: apt-get install libopenblas0-pthread) or choose another "
                  "provider with FG_GEMM_PROVIDER=onednn|internal";
        return p;
    }
    g_cblas_sgemm = symbol<CblasSgemm>(lib, "cblas_sgemm");
    if (!g_cblas_sgemm) {
        p.error = "the OpenBLAS library found has no cblas_sgemm";
        return p;
    }
    p.sgemm = sgemm_cblas;
    p.set_threads = symbol<void (*)(int)>(lib, "openblas_set_num_threads");
    p.get_threads = symbol<int (*)()>(lib, "openblas_get_num_threads");
    // OpenBLAS threads a GEMM only above m*n*k = 65536 * GEMM_MULTITHREAD_THRESHOLD (4 by default).
    p.serial_below_mnk = 65536 * 4;
    auto config = symbol<char* (*)()>(lib, "openblas_get_config");
    auto corename = symbol<char* (*)()>(lib, "openblas_get_corename");
    std::string version = "OpenBLAS";
    if (config) {  // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..."
        std::istringstream words(config());
        std::string name, number;
        words >> name >> number;
        if (!number.empty()) version = name + " " + number;
    }
    const std::string core = corename ? corename() : "";
    p.kernel_isa = core.empty() ? "unknown" : openblas_core_isa(core);
    const std::string source = !user.empty() ? ", OPENBLAS_CORETYPE" : chose_core ? ", from CPUID" : "";
    p.description = version + ", " + (core.empty() ? "unknown" : core) + " kernels (" + p.kernel_isa + source + ")";
    if (runs_generic_kernels(p)) {
        p.warning = "OpenBLAS runs its " + core + " (" + p.kernel_isa + ") kernels on a CPU with " + p.cpu_isa +
                    ", a fraction of its GEMM rate";
        if (!user.empty())
            p.warning += ": OPENBLAS_CORETYPE=" + user + " is set; unset it";
        else
            p.warning += ": OpenBLAS was loaded before this library could choose its core (another library in the "
                         "process linked it); set OPENBLAS_CORETYPE=" + wanted + " before starting the process";
        p.warning += ", or use FG_GEMM_PROVIDER=onednn";
    }
    return p;
}

// ---- oneDNN

using DnnlSgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t);
DnnlSgemm g_dnnl_sgemm = nullptr;

void sgemm_dnnl(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    g_dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda > 1 ? lda : 1, b, ldb > 1 ? ldb : 1, beta, c,
                 ldc > 1 ? ldc : 1);
}

std::string dnnl_isa_name(unsigned isa) {
    if ((isa & 0x27u) == 0x27u) return "AVX-512";
    if ((isa & 0x7u) == 0x7u) return "AVX2";
    if ((isa & 0x3u) == 0x3u) return "AVX";
    if (isa & 0x1u) return "SSE4.1";
    return "unknown";
}

GemmProvider load_onednn() {
    GemmProvider p;
    p.id = "onednn";
    p.cpu_isa = cpu_vector_isa();
    std::string tried;
    void* lib = nullptr;
    {
        // Its OpenMP threads must sleep between GEMMs, not spin against the loop threads.
        ScopedDefaultEnv passive("OMP_WAIT_POLICY", "PASSIVE");
#if defined(_WIN32)
        lib = open_first({"dnnl.dll"}, tried);
#else
        lib = open_first({"libdnnl.so.3", "libdnnl.so.2", "libdnnl.so"}, tried);
#endif
    }
    if (!lib) {
        p.error = "oneDNN could not be loaded (tried " + tried +
                  "): install it (Debian/Ubuntu: apt-get install libdnnl2) or use FG_GEMM_PROVIDER=openblas";
        return p;
    }
    g_dnnl_sgemm = symbol<DnnlSgemm>(lib, "dnnl_sgemm");
    if (!g_dnnl_sgemm) {
        p.error = "the oneDNN library found has no dnnl_sgemm";
        return p;
    }
    p.sgemm = sgemm_dnnl;
    p.set_threads = symbol<void (*)(int)>(lib, "omp_set_num_threads");
    p.get_threads = symbol<int (*)()>(lib, "omp_get_max_threads");
    p.serial_below_mnk = 0;  // threads every GEMM: never nest it in the loop threads
    struct Version {
        int major, minor, patch;
    };
    auto version = symbol<const Version* (*)()>(lib, "dnnl_version");
    auto isa = symbol<unsigned (*)()>(lib, "dnnl_get_effective_cpu_isa");
    p.kernel_isa = isa ? dnnl_isa_name(isa()) : "unknown";
    std::string v = "oneDNN";
    if (version) {
        const Version* ver = version();
        v += " " + std::to_string(ver->major) + "." + std::to_string(ver->minor) + "." + std::to_string(ver->patch);
    }
    p.description = v + ", dnnl_sgemm (" + p.kernel_isa + ")";
    if (runs_generic_kernels(p))
        p.warning = "oneDNN runs " + p.kernel_isa + " kernels on a CPU with " + p.cpu_isa +
                    ": unset ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA, or use FG_GEMM_PROVIDER=openblas";
    return p;
}

GemmProvider internal_provider() {
    GemmProvider p;
    p.id = "internal";
    p.cpu_isa = cpu_vector_isa();
    p.kernel_isa = "C++";
    p.description = "internal blocked GEMM (C++)";
    p.sgemm = sgemm_internal;
    p.serial_below_mnk = INT64_MAX;  // single-threaded
    return p;
}

GemmProvider choose() {
    const char* env = std::getenv("FG_GEMM_PROVIDER");
    const std::string asked = env && *env ? env : "auto";
    if (asked != "auto") return load_gemm_provider(asked);
    GemmProvider p = load_openblas();
    if (p.sgemm) return p;
    GemmProvider fallback = internal_provider();
    fallback.warning = p.error + ". GEMMs run on the internal C++ GEMM, many times slower";
    return fallback;
}

}  // namespace

GemmProvider load_gemm_provider(const std::string& id) {
    if (id == "openblas") return load_openblas();
    if (id == "onednn") return load_onednn();
    if (id == "internal") return internal_provider();
    GemmProvider p;
    p.id = id;
    p.error = "FG_GEMM_PROVIDER=" + id + " is not a GEMM provider; use auto, openblas, onednn or internal";
    return p;
}

const GemmProvider& gemm_provider() {
    static const GemmProvider provider = choose();
    return provider;
}

std::string cpu_vector_isa() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    // Each check includes the OS's support for the register state.
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "AVX-512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "AVX2";
    if (__builtin_cpu_supports("avx")) return "AVX";
    return "SSE";
#elif defined(_WIN32) && defined(_M_X64)
    if (IsProcessorFeaturePresent(41 /* PF_AVX512F_INSTRUCTIONS_AVAILABLE */)) return "AVX-512";
    if (IsProcessorFeaturePresent(40 /* PF_AVX2_INSTRUCTIONS_AVAILABLE */)) return "AVX2";
    if (IsProcessorFeaturePresent(39 /* PF_AVX_INSTRUCTIONS_AVAILABLE */)) return "AVX";
    return "SSE";
#else
    return "unknown";
#endif
}

std::string openblas_core_isa(const std::string& core) {
    static const struct {
        const char* core;
        const char* isa;
    } kCores[] = {
        {"SkylakeX", "AVX-512"},    {"Cooperlake", "AVX-512"}, {"SapphireRapids", "AVX-512"},
        {"Haswell", "AVX2"},        {"Zen", "AVX2"},           {"Excavator", "AVX2"},
        {"Sandybridge", "AVX"},     {"Bulldozer", "AVX"},      {"Piledriver", "AVX"},
        {"Steamroller", "AVX"},     {"Nehalem", "SSE4.2"},     {"Barcelona", "SSE4a"},
        {"Bobcat", "SSE4a"},        {"Penryn", "SSE4.1"},      {"Dunnington", "SSE4.1"},
        {"Core2", "SSSE3"},         {"Atom", "SSSE3"},         {"Prescott", "SSE3"},
        {"Opteron_SSE3", "SSE3"},   {"Opteron", "SSE2"},       {"Katmai", "SSE"},
    };
    for (const auto& c : kCores)
        if (core.size() == std::strlen(c.core)) {
            bool same = true;
            for (size_t i = 0; i < core.size() && same; ++i)
                same = std::tolower(static_cast<unsigned char>(core[i])) ==
                       std::tolower(static_cast<unsigned char>(c.core[i]));
            if (same) return c.isa;
        }
    return "unknown";
}

int isa_rank(const std::string& isa) {
    if (isa == "AVX-512") return 5;
    if (isa == "AVX2") return 4;
    if (isa == "AVX") return 3;
    if (isa.rfind("SS", 0) == 0) return 2;  // SSE, SSE3, SSSE3, SSE4.x
    if (isa == "C++") return 1;
    return 0;  // unknown
}

}  // namespace fg::cpu
