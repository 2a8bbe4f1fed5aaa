// The CPU backend: the reference implementation of every primitive. GEMMs go through BLAS
// (or the internal blocked GEMM when the build found none); loops are plain, vectorisable C++, split
// over the loop threads (parallel.h) where they are large.
// Each primitive family is defined in its own file (gemm.cpp, reduce.cpp, layernorm.cpp, ...).
#pragma once
#include "../core/backend.h"
#include "parallel.h"

namespace fg {

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int32_t threads);

    int32_t kind() const override { return FG_BACKEND_CPU; }
    void describe(fg_context_properties& out) override;

    void* allocate(size_t bytes) override;
    void deallocate(void* p) noexcept override;
    void upload(void* dst, const void* host_src, size_t bytes) override;
    void download(void* host_dst, const void* src, size_t bytes) override;
    void copy(void* dst, const void* src, size_t bytes) override;
    void fill(float* dst, size_t count, float value) override;
    void synchronize() override {}

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

    void norm_relu_jvp(const NormReluJvp& p, float* noise_scratch) override;
    void fga_norm_vjp(const FgaNormVjp& p, float* noise_scratch) override;
    void relu_norm_vjp(const ReluNormVjp& p) override;
    bool fuses_noise() const override { return fused_tails_; }
    bool fuses_bias() const override { return fused_tails_; }

    void optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad,
                          float* state1, float* state2, bool apply_decay) override;

    void patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid, const float* images,
                  float* out) override;

    void random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id,
                       uint64_t first) override;

private:
    // body(begin, end) over [0, n) on the loop threads (parallel.h). Bodies capture by value ([=]), so
    // the copy each chunk runs holds the pointers themselves.
    template <class F>
    void for_range(int64_t n, int64_t grain, F&& body) const {
        cpu::parallel_for(loop_threads_, n, grain, static_cast<F&&>(body));
    }

    int32_t threads_;       // as asked for: 0 = default
    int32_t loop_threads_;  // threads of the element-wise loops
    // The fused layer tails (layer_tail.cpp); FG_CPU_FUSED=0 at context creation runs them as the separate
    // primitives instead, to check the two against each other or to profile the pieces.
    bool fused_tails_;
};

// The name of the GEMM in use ("OpenBLAS ..." or "internal blocked GEMM"), and its thread control.
const char* cpu_gemm_name();
void cpu_gemm_set_threads(int32_t threads);

}  // namespace fg
