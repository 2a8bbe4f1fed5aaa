// CUDA backend: device, stream, cuBLAS handle, memory, and the plug-in entry points.
#include <cstring>
#include <string>

#include "../core/error.h"
#include "cuda_backend.h"

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

CudaBackend::CudaBackend(int32_t device) : device_(device) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess)
        throw Error(FG_ERR_NO_DEVICE, std::string("no usable CUDA driver/device: ") + cudaGetErrorString(e));
    if (device < 0 || device >= count)
        throw Error(FG_ERR_NO_DEVICE, "CUDA device " + std::to_string(device) + " does not exist (" +
                                          std::to_string(count) + " device(s) present)");
    FG_CUDA_CHECK(cudaSetDevice(device));
    FG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    cublasStatus_t s = cublasCreate(&cublas_);
    if (s != CUBLAS_STATUS_SUCCESS) {
        cudaStreamDestroy(stream_);
        cublas_check(s, "cublasCreate");
    }
    FG_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    FG_CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
}

CudaBackend::~CudaBackend() {
    cudaSetDevice(device_);
    if (stream_) cudaStreamSynchronize(stream_);
    if (cublas_) cublasDestroy(cublas_);
    if (stream_) cudaStreamDestroy(stream_);
}

void CudaBackend::set_tf32(bool on) {
    FG_CUBLAS_CHECK(cublasSetMathMode(cublas_, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

void CudaBackend::describe(fg_context_properties& out) {
    FG_CUDA_CHECK(cudaSetDevice(device_));
    cudaDeviceProp prop{};
    FG_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
    std::snprintf(out.device_name, sizeof out.device_name, "%s (sm_%d%d)", prop.name, prop.major, prop.minor);
    int version = 0;
    cublasGetVersion(cublas_, &version);
    std::snprintf(out.gemm_name, sizeof out.gemm_name, "cuBLAS %d.%d.%d", version / 10000, (version / 100) % 100,
                  version % 100);
    size_t free_bytes = 0, total_bytes = 0;
    FG_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    out.total_memory = total_bytes;
    out.free_memory = free_bytes;
}

void* CudaBackend::allocate(size_t bytes) {
    FG_CUDA_CHECK(cudaSetDevice(device_));
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();  // clear the sticky-free error state
        throw Error(FG_ERR_OUT_OF_MEMORY,
                    "device allocation of " + std::to_string(bytes) + " bytes failed: " + cudaGetErrorString(e));
    }
    return p;
}

void CudaBackend::deallocate(void* p) noexcept {
    cudaSetDevice(device_);
    cudaFree(p);  // implicitly waits for work that may still use p
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
    FG_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
    // The caller may reuse host_src as soon as we return.
    FG_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
    FG_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    FG_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
    FG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

namespace {
__global__ void fill_kernel(float* dst, size_t count, float value) {
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<size_t>(gridDim.x) * blockDim.x)
        dst[i] = value;
}
}  // namespace

void CudaBackend::fill(float* dst, size_t count, float value) {
    fill_kernel<<<grid_for(static_cast<int64_t>(count)), 256, 0, stream_>>>(dst, count, value);
    FG_CUDA_LAUNCH_CHECK("fill_kernel");
}

void CudaBackend::synchronize() { FG_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

}  // namespace fg

namespace {
void write_message(char* dst, int32_t capacity, const std::string& s) {
    if (!dst || capacity < 1) return;
    size_t n = std::min(s.size(), static_cast<size_t>(capacity - 1));
    std::memcpy(dst, s.data(), n);
    dst[n] = '\0';
}
}  // namespace

extern "C" {

FG_INTERNAL_EXPORT int32_t fg_cuda_plugin_probe(char* reason, int32_t capacity) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        write_message(reason, capacity, std::string("CUDA plug-in loaded, but no usable driver/device: ") +
                                            cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
        return 0;
    }
    if (count == 0) {
        write_message(reason, capacity, "CUDA plug-in loaded, but no CUDA device is present");
        return 0;
    }
    return 1;
}

FG_INTERNAL_EXPORT fg_status fg_cuda_plugin_create(int32_t device, fg::Backend** out, char* error, int32_t capacity) {
    try {
        *out = new fg::CudaBackend(device);
        return FG_OK;
    } catch (const fg::Error& e) {
        write_message(error, capacity, e.what());
        return e.status();
    } catch (const std::exception& e) {
        write_message(error, capacity, e.what());
        return FG_ERR_INTERNAL;
    }
}

}  // extern "C"
