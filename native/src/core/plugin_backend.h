// The core side of the backend boundary: an fg::Backend whose every primitive is a call through a
// plug-in's C table (backend_plugin.h). A failed call becomes an fg::Error with the plug-in's message.
#pragma once
#include "backend.h"
#include "backend_plugin.h"

namespace fg {

class PluginBackend final : public Backend {
public:
    // Takes ownership of the table's backend object (destroyed with this).
    explicit PluginBackend(const fg_backend_table& table) : t_(table) {}
    ~PluginBackend() override;
    PluginBackend(const PluginBackend&) = delete;
    PluginBackend& operator=(const PluginBackend&) = delete;

    int32_t kind() const override { return t_.kind; }
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
    void norm_relu_jvp(const NormReluJvp& p, float* noise_scratch) override;
    void fga_norm_vjp(const FgaNormVjp& p, float* noise_scratch) override;
    bool fuses_noise() const override { return t_.fuses_noise != 0; }
    void optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad,
                          float* state1, float* state2, bool apply_decay) override;
    void patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid, const float* images,
                  float* out) override;
    void random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id,
                       uint64_t first) override;

private:
    void check(fg_status status) const;  // throws Error(status, the plug-in's message) unless FG_OK
    fg_backend_table t_;
};

}  // namespace fg
