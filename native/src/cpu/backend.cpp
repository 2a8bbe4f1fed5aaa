// CPU backend: memory, description. Primitive families live in their own files.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "../core/error.h"
#include "../core/text.h"
#include "cpu_backend.h"
#include "cpu_backend_factory.h"
#include "gemm_provider.h"

#if !defined(_WIN32)
#include <unistd.h>
#endif

namespace fg {

namespace {
bool env_is(const char* name, const char* value) {
    const char* v = std::getenv(name);
    return v && std::strcmp(v, value) == 0;
}
}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int32_t threads) { return std::make_unique<CpuBackend>(threads); }

void describe_cpu_gemm_provider(fg_gemm_provider_info& out) {
    const cpu::GemmProvider& p = cpu::gemm_provider();
    out.loaded = p.sgemm ? 1 : 0;
    out.threads = p.get_threads ? p.get_threads() : 1;
    copy_text(out.id, sizeof out.id, p.id);
    copy_text(out.description, sizeof out.description, p.description);
    copy_text(out.kernel_isa, sizeof out.kernel_isa, p.kernel_isa);
    copy_text(out.cpu_isa, sizeof out.cpu_isa, p.cpu_isa);
    copy_text(out.warning, sizeof out.warning, p.warning);
    copy_text(out.error, sizeof out.error, p.error);
}

CpuBackend::CpuBackend(int32_t threads)
    : threads_(threads),
      loop_threads_(threads > 0 ? threads : cpu::default_loop_threads()),
      fused_tails_(!env_is("FG_CPU_FUSED", "0")) {
    const cpu::GemmProvider& gemm = cpu::gemm_provider();
    if (!gemm.sgemm) fail(FG_ERR_UNSUPPORTED, gemm.error);
    if (threads > 0) cpu_gemm_set_threads(threads);
}

namespace {
constexpr size_t kAlignment = 64;

std::string cpu_model_name() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(colon + 2);
        }
    }
    return "CPU";
}

}  // namespace

void CpuBackend::describe(fg_context_properties& out) {
    copy_text(out.device_name, sizeof out.device_name, cpu_model_name());
    copy_text(out.gemm_name, sizeof out.gemm_name, cpu_gemm_name());
#if !defined(_WIN32)
    long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && size > 0) out.total_memory = static_cast<uint64_t>(pages) * static_cast<uint64_t>(size);
    if (avail > 0 && size > 0) out.free_memory = static_cast<uint64_t>(avail) * static_cast<uint64_t>(size);
#endif
    if (threads_ > 0) out.cpu_threads = threads_;
}

void* CpuBackend::allocate(size_t bytes) {
    size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
#if defined(_WIN32)
    void* p = _aligned_malloc(rounded, kAlignment);
#else
    void* p = std::aligned_alloc(kAlignment, rounded);
#endif
    if (!p) fail(FG_ERR_OUT_OF_MEMORY, "host allocation of " + std::to_string(bytes) + " bytes failed");
    return p;
}

void CpuBackend::deallocate(void* p) noexcept {
#if defined(_WIN32)
    _aligned_free(p);
#else
    std::free(p);
#endif
}

void CpuBackend::upload(void* dst, const void* host_src, size_t bytes) { std::memcpy(dst, host_src, bytes); }
void CpuBackend::download(void* host_dst, const void* src, size_t bytes) { std::memcpy(host_dst, src, bytes); }
void CpuBackend::copy(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }

void CpuBackend::fill(float* dst, size_t count, float value) {
    for_range(static_cast<int64_t>(count), cpu::kElementGrain, [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) dst[i] = value;
    });
}

}  // namespace fg
