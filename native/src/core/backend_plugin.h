/* The backend plug-in boundary (C): what a run-time loaded backend library (libforwardgrad_cuda)
 * exports and what the core library calls. Only C types cross it: a table of function pointers with
 * an ABI version and a size, argument structs of plain C fields, and fg_status codes with a message;
 * no C++ exception, class or allocator crosses. The core checks the version and the table size when it
 * loads a plug-in and refuses a stale one with a message that names both versions.
 *
 * Entry points a plug-in exports (extern "C"):
 *   int32_t   fg_backend_plugin_abi(void);                          -> FG_BACKEND_PLUGIN_ABI_VERSION
 *   const char* fg_backend_plugin_version(void);                    -> the library's version string
 *   int32_t   fg_backend_plugin_probe(char* reason, int32_t capacity);         1: usable here
 *   fg_status fg_backend_plugin_create(const fg_context_options*, fg_backend_table* out,
 *                                      char* error, int32_t capacity);
 * The primitives' semantics are those of fg::Backend (backend.h). Every function returns FG_OK or a
 * status, with the message from last_error(self) on the calling thread. */
#ifndef FORWARDGRAD_BACKEND_PLUGIN_H
#define FORWARDGRAD_BACKEND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "forwardgrad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the table or an argument struct changes in any way. */
#define FG_BACKEND_PLUGIN_ABI_VERSION 3

typedef struct fg_plugin_gemm_args {
    int32_t trans_a, trans_b;
    int64_t m, n, k;
    float alpha, beta;
    const float* a;
    int64_t lda, stride_a;
    const float* b;
    int64_t ldb, stride_b;
    float* c;
    int64_t ldc, stride_c;
    int64_t batch;
} fg_plugin_gemm_args;

typedef struct fg_plugin_norm_relu_jvp_args {
    int64_t rows, width, ln_rows, ln_dim, tangents;
    const float* h;
    float* t;
    int32_t h_tangents, noise;
    const float* residual;
    const float* residual_dot;
    uint64_t seed;
    uint32_t step, noise_id;
    int64_t noise_rows_total, noise_rows_first;
    float* noise_out;
    float* z;
    float* mean;
    float* rstd;
    float* a;
} fg_plugin_norm_relu_jvp_args;

typedef struct fg_plugin_fga_norm_vjp_args {
    int32_t mode;
    int64_t tangents, batch, patches, width, groups, ln_rows, ln_dim;
    uint64_t seed;
    uint32_t step, noise_id;
    int64_t noise_rows_total, noise_rows_first;
    const float* noise_in;
    const float* a;
    const float* d;
    const float* z;
    const float* rstd;
    float* gz;
} fg_plugin_fga_norm_vjp_args;

typedef struct fg_backend_table {
    uint32_t size;        /* sizeof(fg_backend_table) as the plug-in was built */
    int32_t abi_version;  /* FG_BACKEND_PLUGIN_ABI_VERSION as the plug-in was built */
    void* self;           /* the plug-in's backend object, passed back to every function */
    int32_t kind;         /* FG_BACKEND_* */
    int32_t fuses_noise;  /* 1: the fused layer tails need no noise scratch */

    const char* (*last_error)(void* self); /* message of this thread's last failed call */
    void (*destroy)(void* self);

    fg_status (*describe)(void* self, fg_context_properties* out);
    fg_status (*allocate)(void* self, size_t bytes, void** out);
    void (*deallocate)(void* self, void* p);
    fg_status (*upload)(void* self, void* dst, const void* host_src, size_t bytes);
    fg_status (*download)(void* self, void* host_dst, const void* src, size_t bytes);
    fg_status (*copy)(void* self, void* dst, const void* src, size_t bytes);
    fg_status (*fill)(void* self, float* dst, size_t count, float value);
    fg_status (*synchronize)(void* self);

    fg_status (*gemm)(void* self, const fg_plugin_gemm_args* g);
    fg_status (*add_bias)(void* self, int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias);
    fg_status (*sum_mid)(void* self, int64_t outer, int64_t mid, int64_t inner, const float* x, float scale,
                         float* out, int32_t accumulate);
    fg_status (*broadcast_mid)(void* self, int64_t outer, int64_t mid, int64_t inner, const float* v, float scale,
                               float* out);
    fg_status (*layernorm_forward)(void* self, int64_t rows, int64_t dim, const float* x, float* y, float* mean,
                                   float* rstd);
    fg_status (*layernorm_jvp)(void* self, int64_t rows, int64_t dim, int64_t tangents, const float* y,
                               const float* rstd, const float* xdot, float* ydot);
    fg_status (*layernorm_vjp)(void* self, int64_t rows, int64_t dim, const float* y, const float* rstd,
                               const float* dy, float* dx);
    fg_status (*relu_jvp)(void* self, int64_t count, int64_t tangents, const float* z, const float* residual,
                          const float* zdot, const float* u, const float* residual_dot, float* a, float* adot);
    fg_status (*relu_backward)(void* self, int64_t count, const float* a, const float* da, float* dz);
    fg_status (*softmax_xent)(void* self, int64_t batch, int64_t classes, const float* logits,
                              const int32_t* labels, float* loss, float* s);
    fg_status (*group_dot)(void* self, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                           int64_t groups, const float* xdot, const float* v, float scale, float* d);
    fg_status (*l2_normalize)(void* self, int64_t rows, int64_t dim, const float* x, float* y, float* inv_norm);
    fg_status (*l2_normalize_vjp)(void* self, int64_t rows, int64_t dim, const float* y, const float* inv_norm,
                                  const float* dy, float* dx);
    fg_status (*fga_scale)(void* self, int32_t mode, int64_t tangents, int64_t batch, int64_t patches,
                           int64_t channels, int64_t groups, const float* u, const float* act, const float* d,
                           float* gz);
    fg_status (*fgw_grad)(void* self, int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                          int64_t tangents, const float* v, const float* d, float* grad, int32_t accumulate);
    fg_status (*norm_relu_jvp)(void* self, const fg_plugin_norm_relu_jvp_args* p, float* noise_scratch);
    fg_status (*fga_norm_vjp)(void* self, const fg_plugin_fga_norm_vjp_args* p, float* noise_scratch);
    fg_status (*optimizer_update)(void* self, const fg_optimizer_params* hp, int64_t count, float* param,
                                  const float* grad, float* state1, float* state2, int32_t apply_decay);
    fg_status (*patchify)(void* self, int64_t batch, int64_t height, int64_t width, int64_t in_channels,
                          int64_t grid, const float* images, float* out);
    fg_status (*random_normal)(void* self, float* out, uint64_t count, uint64_t seed, uint32_t step,
                               uint32_t tensor_id, uint64_t first);
} fg_backend_table;

typedef int32_t (*fg_backend_plugin_abi_fn)(void);
typedef const char* (*fg_backend_plugin_version_fn)(void);
typedef int32_t (*fg_backend_plugin_probe_fn)(char* reason, int32_t capacity);
typedef fg_status (*fg_backend_plugin_create_fn)(const fg_context_options* options, fg_backend_table* out,
                                                 char* error, int32_t capacity);

#ifdef __cplusplus
}
#endif
#endif /* FORWARDGRAD_BACKEND_PLUGIN_H */
