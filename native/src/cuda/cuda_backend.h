// The CUDA backend: the same primitives as the CPU backend (the reference), on one device and
// one stream of it. GEMMs through cuBLAS, the rest as fused kernels, one .cu per primitive family
// (gemm.cu, reduce.cu, layernorm.cu, ...). Nothing synchronises inside a primitive, and every
// entry point makes the context's device current for its duration (DeviceGuard), so a context
// may be driven from any host thread.
// This file is compiled only into the forwardgrad_cuda plug-in.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "../core/backend.h"

namespace fg {

// Makes `device` current on this host thread and restores the previous device on exit.
class DeviceGuard {
public:
    explicit DeviceGuard(int device);
    ~DeviceGuard();
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int previous_ = -1;
};

class CudaBackend final : public Backend {
public:
    // tf32: GEMMs on TF32 tensor cores (fg_context_options.gemm_tf32).
    CudaBackend(int32_t device, bool tf32);
    ~CudaBackend() override;

    int32_t kind() const override { return FG_BACKEND_CUDA; }
    void describe(fg_context_properties& out) override;

    void* allocate(size_t bytes) override;
    void deallocate(void* p) noexcept override;
    void upload(void* dst, const void* host_src, size_t bytes) override;
    void download(void* host_dst, const void* src, size_t bytes) override;
    void copy(void* dst, const void* src, size_t bytes) override;
    void fill(float* dst, size_t count, float value) override;
    void synchronize() override;

    void gemm(const GemmArgs& g) override;

    void add_bias(int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias) override;
    void sum_mid(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                 bool accumulate) override;
    void broadcast_mid(int64_t outer, int64_t mid, int64_t inner, const float* v, float scale, float* out) override;

    void layernorm_forward(int64_t rows, int64_t dim, const float* x, float* y, float* mean, float* rstd) override;
    void layernorm_jvp(int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd,
                       const float* xdot, float* ydot) override;
    void layernorm_vjp(int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy,
                       float* dx) override;

    void relu_jvp(int64_t count, int64_t tangents, const float* z, const float* residual, const float* zdot,
                  const float* u, const float* residual_dot, float* a, float* adot) override;
    void relu_backward(int64_t count, const float* a, const float* da, float* dz) override;

    void softmax_xent(int64_t batch, int64_t classes, const float* logits, const int32_t* labels, float* loss,
                      float* s) override;
    void group_dot(int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                   const float* xdot, const float* v, float scale, float* d) override;

    void l2_normalize(int64_t rows, int64_t dim, const float* x, float* y, float* inv_norm) override;
    void l2_normalize_vjp(int64_t rows, int64_t dim, const float* y, const float* inv_norm, const float* dy,
                          float* dx) override;

    void fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                   const float* u, const float* act, const float* d, float* gz) override;
    void fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows, int64_t tangents,
                  const float* v, const float* d, float* grad, bool accumulate) override;

    void optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad,
                          float* state1, float* state2, bool apply_decay) override;

    void patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid, const float* images,
                  float* out) override;

    void random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id,
                       uint64_t first) override;

    cudaStream_t stream() const { return stream_; }
    cublasHandle_t cublas() const { return cublas_; }

private:
    // The backend's own scratch, one grow-only area per use so that nested uses do not overlap;
    // stream-ordered, valid until the next call for the same slot. Not counted in live_bytes.
    enum ScratchSlot { kReducePartials = 0, kEstimatorScales = 1, kScratchSlots = 2 };
    void* scratch(ScratchSlot slot, size_t bytes);
    // sum_mid's kernels, without the device guard (reduce.cu).
    void sum_mid_on_stream(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                           bool accumulate);

    int32_t device_;
    bool tf32_;
    bool memory_pools_ = false;  // cudaMallocAsync / cudaFreeAsync: no device-wide sync on free
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    std::mutex scratch_mutex_;
    void* scratch_[kScratchSlots] = {nullptr, nullptr};
    size_t scratch_bytes_[kScratchSlots] = {0, 0};
};

// Throws fg::Error(FG_ERR_BACKEND) naming the call when a CUDA / cuBLAS call fails.
void cuda_check(cudaError_t e, const char* what);
void cublas_check(cublasStatus_t s, const char* what);
#define FG_CUDA_CHECK(call) ::fg::cuda_check((call), #call)
#define FG_CUBLAS_CHECK(call) ::fg::cublas_check((call), #call)
// After a kernel launch: reports launch errors (bad configuration) without synchronising.
#define FG_CUDA_LAUNCH_CHECK(name) ::fg::cuda_check(cudaGetLastError(), name)

// Grid size for `count` elements at `threads` per block, capped for grid-stride loops.
constexpr int64_t kMaxGridBlocks = 65535 * 8;
inline unsigned grid_for(int64_t count, int threads = 256) {
    int64_t blocks = (count + threads - 1) / threads;
    if (blocks < 1) blocks = 1;
    if (blocks > kMaxGridBlocks) blocks = kMaxGridBlocks;
    return static_cast<unsigned>(blocks);
}

// Calls f(Index{}) with Index = int32_t when every index of a grid-stride loop over `extent`
// elements fits in 32 bits (including the last stride past the end: extent + grid * block stays
// below 2^31), else int64_t. 32-bit division and modulo are several times cheaper on the GPU.
template <class F>
void with_index_type(int64_t extent, F&& f) {
    if (extent < (int64_t{1} << 30)) f(int32_t{});
    else f(int64_t{});
}

}  // namespace fg
