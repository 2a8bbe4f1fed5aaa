// The CUDA backend: the same primitives as the CPU backend (the reference), on one device and
// one stream of it. GEMMs through cuBLAS, the rest as fused kernels, one .cu per primitive family
// (gemm.cu, reduce.cu, layernorm.cu, ...). Nothing synchronises inside a primitive.
// This file is compiled only into the forwardgrad_cuda plug-in.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "../core/backend.h"

namespace fg {

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(int32_t device);
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

    void fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                   const float* u, const float* act, const float* d, float* gz) override;
    void fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows, int64_t tangents,
                  const float* v, const float* d, float* grad, bool accumulate) override;

    void optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad,
                          float* state1, float* state2, bool apply_decay) override;

    void patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid, const float* images,
                  float* out) override;

    void random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id) override;

    cudaStream_t stream() const { return stream_; }
    cublasHandle_t cublas() const { return cublas_; }
    // Use TF32 tensor cores for GEMMs (off by default: FP32 matches the CPU reference).
    void set_tf32(bool on);

private:
    int32_t device_;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
};

// Throws fg::Error(FG_ERR_BACKEND) naming the call when a CUDA / cuBLAS call fails.
void cuda_check(cudaError_t e, const char* what);
void cublas_check(cublasStatus_t s, const char* what);
#define FG_CUDA_CHECK(call) ::fg::cuda_check((call), #call)
#define FG_CUBLAS_CHECK(call) ::fg::cublas_check((call), #call)
// After a kernel launch: reports launch errors (bad configuration) without synchronising.
#define FG_CUDA_LAUNCH_CHECK(name) ::fg::cuda_check(cudaGetLastError(), name)

// Grid size for `count` elements at `threads` per block, capped for grid-stride loops.
inline unsigned grid_for(int64_t count, int threads = 256) {
    int64_t blocks = (count + threads - 1) / threads;
    if (blocks < 1) blocks = 1;
    if (blocks > 65535 * 8) blocks = 65535 * 8;
    return static_cast<unsigned>(blocks);
}

}  // namespace fg
