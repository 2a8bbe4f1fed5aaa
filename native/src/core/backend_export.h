// The plug-in side of the backend boundary: fills a C table (backend_plugin.h) over an fg::Backend
// of the plug-in's own. Every entry catches what the backend throws and returns a status; the
// message waits in a thread-local string for the core's last_error call. Included once, by the
// file of a plug-in that defines its entry points.
#pragma once
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "backend_plugin_args.h"
#include "error.h"

namespace fg::backend_export {

inline thread_local std::string last_message;

inline Backend& self_of(void* self) { return *static_cast<Backend*>(self); }

template <class F>
fg_status run(F&& body) noexcept {
    try {
        body();
        return FG_OK;
    } catch (const Error& e) {
        last_message = e.what();
        return e.status();
    } catch (const std::bad_alloc&) {
        last_message = "out of host memory";
        return FG_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        last_message = std::string("internal error: ") + e.what();
        return FG_ERR_INTERNAL;
    } catch (...) {
        last_message = "unknown internal error";
        return FG_ERR_INTERNAL;
    }
}

// Copies s into dst (capacity bytes, always terminated).
inline void write_message(char* dst, int32_t capacity, const std::string& s) {
    if (!dst || capacity < 1) return;
    const size_t n = std::min(s.size(), static_cast<size_t>(capacity - 1));
    std::memcpy(dst, s.data(), n);
    dst[n] = '\0';
}

// Hands `backend` over to the table: the table owns it until its destroy entry is called.
inline void fill_table(std::unique_ptr<Backend> backend, fg_backend_table& t) {
    t = fg_backend_table{};
    t.size = sizeof(fg_backend_table);
    t.abi_version = FG_BACKEND_PLUGIN_ABI_VERSION;
    t.kind = backend->kind();
    t.fuses_noise = backend->fuses_noise() ? 1 : 0;
    t.self = backend.release();
    t.last_error = [](void*) { return last_message.c_str(); };
    t.destroy = [](void* s) { delete static_cast<Backend*>(s); };
    t.describe = [](void* s, fg_context_properties* out) { return run([&] { self_of(s).describe(*out); }); };
    t.allocate = [](void* s, size_t bytes, void** out) { return run([&] { *out = self_of(s).allocate(bytes); }); };
    t.deallocate = [](void* s, void* p) { self_of(s).deallocate(p); };
    t.upload = [](void* s, void* dst, const void* src, size_t bytes) {
        return run([&] { self_of(s).upload(dst, src, bytes); });
    };
    t.download = [](void* s, void* dst, const void* src, size_t bytes) {
        return run([&] { self_of(s).download(dst, src, bytes); });
    };
    t.copy = [](void* s, void* dst, const void* src, size_t bytes) {
        return run([&] { self_of(s).copy(dst, src, bytes); });
    };
    t.fill = [](void* s, float* dst, size_t count, float value) {
        return run([&] { self_of(s).fill(dst, count, value); });
    };
    t.synchronize = [](void* s) { return run([&] { self_of(s).synchronize(); }); };
    t.gemm = [](void* s, const fg_plugin_gemm_args* g) {
        return run([&] { self_of(s).gemm(plugin_args::from_c(*g)); });
    };
    t.add_bias = [](void* s, int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias) {
        return run([&] { self_of(s).add_bias(outer, mid, inner, y, bias); });
    };
    t.sum_mid = [](void* s, int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                   int32_t accumulate) {
        return run([&] { self_of(s).sum_mid(outer, mid, inner, x, scale, out, accumulate != 0); });
    };
    t.broadcast_mid = [](void* s, int64_t outer, int64_t mid, int64_t inner, const float* v, float scale,
                         float* out) { return run([&] { self_of(s).broadcast_mid(outer, mid, inner, v, scale, out); }); };
    t.layernorm_forward = [](void* s, int64_t rows, int64_t dim, const float* x, float* y, float* mean,
                             float* rstd) { return run([&] { self_of(s).layernorm_forward(rows, dim, x, y, mean, rstd); }); };
    t.layernorm_jvp = [](void* s, int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd,
                         const float* xdot, float* ydot) {
        return run([&] { self_of(s).layernorm_jvp(rows, dim, tangents, y, rstd, xdot, ydot); });
    };
    t.layernorm_vjp = [](void* s, int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy,
                         float* dx) { return run([&] { self_of(s).layernorm_vjp(rows, dim, y, rstd, dy, dx); }); };
    t.relu_jvp = [](void* s, int64_t count, int64_t tangents, const float* z, const float* residual,
                    const float* zdot, const float* u, const float* residual_dot, float* a, float* adot) {
        return run([&] { self_of(s).relu_jvp(count, tangents, z, residual, zdot, u, residual_dot, a, adot); });
    };
    t.relu_backward = [](void* s, int64_t count, const float* a, const float* da, float* dz) {
        return run([&] { self_of(s).relu_backward(count, a, da, dz); });
    };
    t.softmax_xent = [](void* s, int64_t batch, int64_t classes, const float* logits, const int32_t* labels,
                        float* loss, float* sm) {
        return run([&] { self_of(s).softmax_xent(batch, classes, logits, labels, loss, sm); });
    };
    t.group_dot = [](void* s, int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                     const float* xdot, const float* v, float scale, float* d) {
        return run([&] { self_of(s).group_dot(tangents, batch, patches, channels, groups, xdot, v, scale, d); });
    };
    t.l2_normalize = [](void* s, int64_t rows, int64_t dim, const float* x, float* y, float* inv_norm) {
        return run([&] { self_of(s).l2_normalize(rows, dim, x, y, inv_norm); });
    };
    t.l2_normalize_vjp = [](void* s, int64_t rows, int64_t dim, const float* y, const float* inv_norm,
                            const float* dy, float* dx) {
        return run([&] { self_of(s).l2_normalize_vjp(rows, dim, y, inv_norm, dy, dx); });
    };
    t.fga_scale = [](void* s, int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                     int64_t groups, const float* u, const float* act, const float* d, float* gz) {
        return run([&] { self_of(s).fga_scale(mode, tangents, batch, patches, channels, groups, u, act, d, gz); });
    };
    t.fgw_grad = [](void* s, int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                    int64_t tangents, const float* v, const float* d, float* grad, int32_t accumulate) {
        return run([&] {
            self_of(s).fgw_grad(slice_mode, count, cols, groups, rows, tangents, v, d, grad, accumulate != 0);
        });
    };
    t.norm_relu_jvp = [](void* s, const fg_plugin_norm_relu_jvp_args* p, float* scratch) {
        return run([&] { self_of(s).norm_relu_jvp(plugin_args::from_c(*p), scratch); });
    };
    t.fga_norm_vjp = [](void* s, const fg_plugin_fga_norm_vjp_args* p, float* scratch) {
        return run([&] { self_of(s).fga_norm_vjp(plugin_args::from_c(*p), scratch); });
    };
    t.optimizer_update = [](void* s, const fg_optimizer_params* hp, int64_t count, float* param, const float* grad,
                            float* state1, float* state2, int32_t apply_decay) {
        return run([&] { self_of(s).optimizer_update(*hp, count, param, grad, state1, state2, apply_decay != 0); });
    };
    t.patchify = [](void* s, int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid,
                    const float* images, float* out) {
        return run([&] { self_of(s).patchify(batch, height, width, in_channels, grid, images, out); });
    };
    t.random_normal = [](void* s, float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id,
                         uint64_t first) {
        return run([&] { self_of(s).random_normal(out, count, seed, step, tensor_id, first); });
    };
}

}  // namespace fg::backend_export
