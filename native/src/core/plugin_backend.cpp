#include "plugin_backend.h"

#include <string>

#include "backend_plugin_args.h"
#include "error.h"

namespace fg {

PluginBackend::~PluginBackend() { t_.destroy(t_.self); }

void PluginBackend::check(fg_status status) const {
    if (status == FG_OK) return;
    const char* message = t_.last_error(t_.self);
    fail(status, message && *message ? message : "the backend plug-in reported an error without a message");
}

void PluginBackend::describe(fg_context_properties& out) { check(t_.describe(t_.self, &out)); }

void* PluginBackend::allocate(size_t bytes) {
    void* p = nullptr;
    check(t_.allocate(t_.self, bytes, &p));
    return p;
}

void PluginBackend::deallocate(void* p) noexcept { t_.deallocate(t_.self, p); }

void PluginBackend::upload(void* dst, const void* host_src, size_t bytes) {
    check(t_.upload(t_.self, dst, host_src, bytes));
}

void PluginBackend::download(void* host_dst, const void* src, size_t bytes) {
    check(t_.download(t_.self, host_dst, src, bytes));
}

void PluginBackend::copy(void* dst, const void* src, size_t bytes) { check(t_.copy(t_.self, dst, src, bytes)); }

void PluginBackend::fill(float* dst, size_t count, float value) { check(t_.fill(t_.self, dst, count, value)); }

void PluginBackend::synchronize() { check(t_.synchronize(t_.self)); }

void PluginBackend::gemm(const GemmArgs& g) {
    const fg_plugin_gemm_args c = plugin_args::to_c(g);
    check(t_.gemm(t_.self, &c));
}

void PluginBackend::add_bias(int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias) {
    check(t_.add_bias(t_.self, outer, mid, inner, y, bias));
}

void PluginBackend::sum_mid(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                            bool accumulate) {
    check(t_.sum_mid(t_.self, outer, mid, inner, x, scale, out, accumulate ? 1 : 0));
}

void PluginBackend::broadcast_mid(int64_t outer, int64_t mid, int64_t inner, const float* v, float scale, float* out) {
    check(t_.broadcast_mid(t_.self, outer, mid, inner, v, scale, out));
}

void PluginBackend::layernorm_forward(int64_t rows, int64_t dim, const float* x, float* y, float* mean, float* rstd) {
    check(t_.layernorm_forward(t_.self, rows, dim, x, y, mean, rstd));
}

void PluginBackend::layernorm_jvp(int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd,
                                  const float* xdot, float* ydot) {
    check(t_.layernorm_jvp(t_.self, rows, dim, tangents, y, rstd, xdot, ydot));
}

void PluginBackend::layernorm_vjp(int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy,
                                  float* dx) {
    check(t_.layernorm_vjp(t_.self, rows, dim, y, rstd, dy, dx));
}

void PluginBackend::relu_jvp(int64_t count, int64_t tangents, const float* z, const float* residual, const float* zdot,
                             const float* u, const float* residual_dot, float* a, float* adot) {
    check(t_.relu_jvp(t_.self, count, tangents, z, residual, zdot, u, residual_dot, a, adot));
}

void PluginBackend::relu_backward(int64_t count, const float* a, const float* da, float* dz) {
    check(t_.relu_backward(t_.self, count, a, da, dz));
}

void PluginBackend::softmax_xent(int64_t batch, int64_t classes, const float* logits, const int32_t* labels,
                                 float* loss, float* s) {
    check(t_.softmax_xent(t_.self, batch, classes, logits, labels, loss, s));
}

void PluginBackend::group_dot(int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                              const float* xdot, const float* v, float scale, float* d) {
    check(t_.group_dot(t_.self, tangents, batch, patches, channels, groups, xdot, v, scale, d));
}

void PluginBackend::l2_normalize(int64_t rows, int64_t dim, const float* x, float* y, float* inv_norm) {
    check(t_.l2_normalize(t_.self, rows, dim, x, y, inv_norm));
}

void PluginBackend::l2_normalize_vjp(int64_t rows, int64_t dim, const float* y, const float* inv_norm,
                                     const float* dy, float* dx) {
    check(t_.l2_normalize_vjp(t_.self, rows, dim, y, inv_norm, dy, dx));
}

void PluginBackend::fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                              int64_t groups, const float* u, const float* act, const float* d, float* gz) {
    check(t_.fga_scale(t_.self, mode, tangents, batch, patches, channels, groups, u, act, d, gz));
}

void PluginBackend::fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                             int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) {
    check(t_.fgw_grad(t_.self, slice_mode, count, cols, groups, rows, tangents, v, d, grad, accumulate ? 1 : 0));
}

void PluginBackend::norm_relu_jvp(const NormReluJvp& p, float* noise_scratch) {
    const fg_plugin_norm_relu_jvp_args c = plugin_args::to_c(p);
    check(t_.norm_relu_jvp(t_.self, &c, noise_scratch));
}

void PluginBackend::fga_norm_vjp(const FgaNormVjp& p, float* noise_scratch) {
    const fg_plugin_fga_norm_vjp_args c = plugin_args::to_c(p);
    check(t_.fga_norm_vjp(t_.self, &c, noise_scratch));
}

void PluginBackend::optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad,
                                     float* state1, float* state2, bool apply_decay) {
    check(t_.optimizer_update(t_.self, &hp, count, param, grad, state1, state2, apply_decay ? 1 : 0));
}

void PluginBackend::patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid,
                             const float* images, float* out) {
    check(t_.patchify(t_.self, batch, height, width, in_channels, grid, images, out));
}

void PluginBackend::random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id,
                                  uint64_t first) {
    check(t_.random_normal(t_.self, out, count, seed, step, tensor_id, first));
}

}  // namespace fg
