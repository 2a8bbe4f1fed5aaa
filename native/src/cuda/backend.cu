// CUDA backend: device, stream, cuBLAS handle, memory, and the plug-in entry points.
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "../core/backend_export.h"
#include "../core/error.h"
#include "arch_support.h"
#include "cuda_backend.h"

#ifndef FG_CUDA_ARCHITECTURES
#define FG_CUDA_ARCHITECTURES ""
#endif

namespace fg {

void cuda_check(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return;
    fg_status status = (e == cudaErrorMemoryAllocation) ? FG_ERR_OUT_OF_MEMORY : FG_ERR_BACKEND;
    throw Error(status, std::string(what) + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

void cublas_check(cublasStatus_t s, const char* what) {
    if (s == CUBLAS_STATUS_SUCCESS) return;
    fg_status status = (s == CUBLAS_STATUS_ALLOC_FAILED) ? FG_ERR_OUT_OF_MEMORY : FG_ERR_BACKEND;
    throw Error(status, std::string(what) + " failed: cuBLAS status " + std::to_string(static_cast<int>(s)));
}

DeviceGuard::DeviceGuard(int device) {
    int current = -1;
    FG_CUDA_CHECK(cudaGetDevice(&current));
    if (current != device) {
        FG_CUDA_CHECK(cudaSetDevice(device));
        previous_ = current;
    }
}

DeviceGuard::~DeviceGuard() {
    if (previous_ >= 0) cudaSetDevice(previous_);
}

namespace {

template <class I>
__global__ void fill_kernel(float* dst, I count, float value) {
    for (I i = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; i < count; i += static_cast<I>(gridDim.x) * blockDim.x)
        dst[i] = value;
}

// Announces, once per process, that the kernels run through PTX JIT.
void announce_jit(const std::string& message) {
    static std::once_flag once;
    std::call_once(once, [&] { std::fprintf(stderr, "forwardgrad CUDA: %s\n", message.c_str()); });
}

// Why device `device` cannot run this plug-in's kernels ("" when it can). Compares the device's
// compute capability with the embedded targets, then asks the runtime to load a kernel for it
// (which also catches a driver too old for the embedded PTX).
std::string check_device_support(int device) {
    cudaDeviceProp prop{};
    cudaError_t e = cudaGetDeviceProperties(&prop, device);
    if (e != cudaSuccess)
        return "cudaGetDeviceProperties(" + std::to_string(device) + ") failed: " + cudaGetErrorName(e);
    const std::string name = "device " + std::to_string(device) + " (" + prop.name + ")";
    const ArchDecision decision = decide_arch(FG_CUDA_ARCHITECTURES, prop.major, prop.minor, name);
    if (decision.fit == ArchFit::kUnsupported) return decision.message;
    cudaFuncAttributes attributes{};
    {
        int current = 0;
        cudaGetDevice(&current);
        cudaSetDevice(device);
        e = cudaFuncGetAttributes(&attributes, fill_kernel<int32_t>);
        cudaSetDevice(current);
    }
    if (e != cudaSuccess) {
        cudaGetLastError();
        return name + " (sm_" + std::to_string(prop.major * 10 + prop.minor) +
               ") cannot load the plug-in's kernels (built for " + FG_CUDA_ARCHITECTURES + "): " + cudaGetErrorName(e) +
               " (" + cudaGetErrorString(e) + ")";
    }
    if (decision.fit == ArchFit::kPtxJit) announce_jit(decision.message);
    return "";
}

// check_device_support once per device: every test's probe asks again.
std::string device_unsupported_reason(int device) {
    constexpr int kCached = 64;
    if (device < 0 || device >= kCached) return check_device_support(device);
    static std::mutex mutex;
    static bool checked[kCached] = {};
    static std::string reasons[kCached];
    std::lock_guard<std::mutex> lock(mutex);
    if (!checked[device]) {
        reasons[device] = check_device_support(device);
        checked[device] = true;
    }
    return reasons[device];
}

}  // namespace

CudaBackend::CudaBackend(int32_t device, bool tf32) : device_(device), tf32_(tf32) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess)
        throw Error(FG_ERR_NO_DEVICE, std::string("no usable CUDA driver/device: ") + cudaGetErrorString(e));
    if (device < 0 || device >= count)
        throw Error(FG_ERR_NO_DEVICE, "CUDA device " + std::to_string(device) + " does not exist (" +
                                          std::to_string(count) + " device(s) present)");
    const std::string unsupported = device_unsupported_reason(device);
    if (!unsupported.empty()) throw Error(FG_ERR_UNSUPPORTED, unsupported);
    const DeviceGuard guard(device_);
    int pools = 0;
    memory_pools_ = cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device) == cudaSuccess && pools;
    FG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    cublasStatus_t s = cublasCreate(&cublas_);
    if (s != CUBLAS_STATUS_SUCCESS) {
        cudaStreamDestroy(stream_);
        cublas_check(s, "cublasCreate");
    }
    try {
        FG_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
        FG_CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    } catch (...) {
        cublasDestroy(cublas_);
        cudaStreamDestroy(stream_);
        throw;
    }
}

CudaBackend::~CudaBackend() {
    int current = -1;
    cudaGetDevice(&current);
    cudaSetDevice(device_);
    for (int slot = 0; slot < kScratchSlots; ++slot)
        if (scratch_[slot]) deallocate(scratch_[slot]);
    if (stream_) cudaStreamSynchronize(stream_);
    if (cublas_) cublasDestroy(cublas_);
    if (stream_) cudaStreamDestroy(stream_);
    if (current >= 0) cudaSetDevice(current);
}

void CudaBackend::describe(fg_context_properties& out) {
    const DeviceGuard guard(device_);
    cudaDeviceProp prop{};
    FG_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
    std::snprintf(out.device_name, sizeof out.device_name, "%s (sm_%d%d)", prop.name, prop.major, prop.minor);
    int version = 0;
    cublasGetVersion(cublas_, &version);
    std::snprintf(out.gemm_name, sizeof out.gemm_name, "cuBLAS %d.%d.%d%s", version / 10000, (version / 100) % 100,
                  version % 100, tf32_ ? " (TF32)" : "");
    size_t free_bytes = 0, total_bytes = 0;
    FG_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    out.total_memory = total_bytes;
    out.free_memory = free_bytes;
}

void* CudaBackend::allocate(size_t bytes) {
    const DeviceGuard guard(device_);
    void* p = nullptr;
    // Stream-ordered where the device has memory pools: neither this nor deallocate waits for the device.
    cudaError_t e = memory_pools_ ? cudaMallocAsync(&p, bytes, stream_) : cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();  // clear the error so later calls do not report it
        throw Error(FG_ERR_OUT_OF_MEMORY,
                    "device allocation of " + std::to_string(bytes) + " bytes failed: " + cudaGetErrorString(e));
    }
    return p;
}

void CudaBackend::deallocate(void* p) noexcept {
    if (!p) return;
    int current = -1;
    cudaGetDevice(&current);
    cudaSetDevice(device_);
    // cudaFreeAsync releases p after the work queued on the stream; cudaFree waits for the device.
    if (memory_pools_) cudaFreeAsync(p, stream_);
    else cudaFree(p);
    if (current >= 0 && current != device_) cudaSetDevice(current);
}

void* CudaBackend::scratch(ScratchSlot slot, size_t bytes) {
    std::lock_guard<std::mutex> lock(scratch_mutex_);
    if (bytes > scratch_bytes_[slot]) {
        const size_t grown = bytes + bytes / 2;  // grow-only, with headroom so a slowly rising size is rare
        void* p = allocate(grown);
        deallocate(scratch_[slot]);
        scratch_[slot] = p;
        scratch_bytes_[slot] = grown;
    }
    return scratch_[slot];
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
    const DeviceGuard guard(device_);
    FG_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
    // The caller may reuse host_src as soon as we return.
    FG_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
    const DeviceGuard guard(device_);
    FG_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    FG_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
    const DeviceGuard guard(device_);
    FG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaBackend::fill(float* dst, size_t count, float value) {
    if (count == 0) return;
    const DeviceGuard guard(device_);
    const int64_t n = static_cast<int64_t>(count);
    with_index_type(n, [&](auto index) {
        using I = decltype(index);
        fill_kernel<I><<<grid_for(n), 256, 0, stream_>>>(dst, static_cast<I>(n), value);
    });
    FG_CUDA_LAUNCH_CHECK("fill_kernel");
}

void CudaBackend::synchronize() {
    const DeviceGuard guard(device_);
    FG_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

}  // namespace fg

// ---- the plug-in's entry points (core/backend_plugin.h)
using fg::backend_export::write_message;

extern "C" {

FG_INTERNAL_EXPORT int32_t fg_backend_plugin_abi(void) { return FG_BACKEND_PLUGIN_ABI_VERSION; }

FG_INTERNAL_EXPORT const char* fg_backend_plugin_version(void) { return FG_VERSION_STRING; }

// Available when device 0 (the default device) can run the plug-in's kernels.
FG_INTERNAL_EXPORT int32_t fg_backend_plugin_probe(char* reason, int32_t capacity) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        write_message(reason, capacity, std::string("CUDA plug-in loaded, but no usable driver/device: ") +
                                            cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
        return 0;
    }
    if (count == 0) {
        write_message(reason, capacity, "CUDA plug-in loaded, but no CUDA device is present");
        return 0;
    }
    const std::string unsupported = fg::device_unsupported_reason(0);
    if (!unsupported.empty()) {
        write_message(reason, capacity, "CUDA plug-in loaded, but " + unsupported);
        return 0;
    }
    return 1;
}

FG_INTERNAL_EXPORT fg_status fg_backend_plugin_create(const fg_context_options* options, fg_backend_table* out,
                                                      char* error, int32_t capacity) {
    const fg_status status = fg::backend_export::run([&] {
        fg::backend_export::fill_table(std::make_unique<fg::CudaBackend>(options->device, options->gemm_tf32 != 0),
                                       *out);
    });
    if (status != FG_OK) write_message(error, capacity, fg::backend_export::last_message);
    return status;
}

}  // extern "C"
