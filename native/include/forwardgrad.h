/*
 * forwardgrad.h: the whole C ABI of ForwardGradNative.
 *
 * Conventions
 *  - Every function returns fg_status (FG_OK == 0) unless it only reports a constant
 *    (fg_abi_version, fg_version, fg_status_string, fg_last_error). Results come back
 *    through out-parameters.
 *  - On failure, fg_last_error() returns a thread-local message naming the argument and
 *    the values; it stays valid until the next failing call on the same thread.
 *  - Nothing here aborts the process: C++ exceptions never cross this boundary.
 *  - *_free functions accept NULL and always return FG_OK.
 *  - Tensors are fg_buffer objects holding float32 (labels: int32) in row-major order,
 *    owned by one context (host memory on CPU, device memory on CUDA). An operation
 *    checks that every buffer belongs to its context and is large enough.
 *  - A context is used by one thread at a time (like a CUDA stream); two contexts on two threads
 *    hold independent data and give the same results as on one. CPU thread counts are process-wide
 *    settings (see fg_context_options.cpu_threads). Outputs may not alias inputs unless an op says so.
 *  - live_bytes counts the context's buffers and its reusable scratch space (grown by composite ops
 *    and kept until the context is freed).
 *  - Shape comments use B batch, P patches, C channels, G groups, K tangents,
 *    R rows (any leading dimensions flattened), N classes.
 *  - Stacked tangents: an argument written "XX is ((K+1)*R, n)" holds the primal X in its
 *    first R rows and tangent k (k = 1..K) in rows k*R .. (k+1)*R-1. One GEMM reads W once
 *    for all of them (METHOD.md section 6).
 */
#ifndef FORWARDGRAD_H
#define FORWARDGRAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(FG_BUILDING_LIBRARY)
#    define FG_API __declspec(dllexport)
#  else
#    define FG_API __declspec(dllimport)
#  endif
#else
#  define FG_API __attribute__((visibility("default")))
#endif

/* Bumped whenever a signature or struct layout in this file changes. */
#define FG_ABI_VERSION 3

/* ---------------------------------------------------------------- status */

typedef int32_t fg_status;
#define FG_OK 0
#define FG_ERR_INVALID_ARGUMENT 1 /* null, shapes that do not fit, buffer of another context */
#define FG_ERR_OUT_OF_MEMORY 2    /* host or device allocation failed */
#define FG_ERR_UNSUPPORTED 3      /* backend or feature not built / not loadable here */
#define FG_ERR_NO_DEVICE 4        /* no CUDA driver or no device with that index */
#define FG_ERR_BACKEND 5          /* a BLAS / CUDA / cuBLAS call failed */
#define FG_ERR_INTERNAL 6         /* a bug: please report with fg_last_error() */

FG_API int32_t fg_abi_version(void);
/* Library version, e.g. "0.1.0". Static string. */
FG_API const char* fg_version(void);
/* Name of a status, e.g. "FG_ERR_INVALID_ARGUMENT". Static string. */
FG_API const char* fg_status_string(fg_status status);
/* Message of the last failure on this thread ("" when none). Library-owned. */
FG_API const char* fg_last_error(void);

/* ---------------------------------------------------------------- backends */

#define FG_BACKEND_CPU 0
#define FG_BACKEND_CUDA 1

/* Whether a backend can be used here. *available = 1 or 0; when 0, reason (if not NULL)
 * receives a NUL-terminated explanation, truncated to reason_capacity bytes. */
FG_API fg_status fg_backend_probe(int32_t backend, int32_t* available, char* reason, int32_t reason_capacity);

/* ---------------------------------------------------------------- CPU GEMM provider */

/* The library that runs the CPU backend's GEMMs, chosen once per process on first use and loaded at
 * run time: FG_GEMM_PROVIDER=auto (default: OpenBLAS, with its kernels chosen from this CPU's CPUID
 * features unless OPENBLAS_CORETYPE is set; the internal C++ GEMM when OpenBLAS cannot be loaded),
 * openblas, onednn or internal. GEMM threads are the provider's and process-wide. */
typedef struct fg_gemm_provider_info {
    uint32_t size;          /* sizeof(fg_gemm_provider_info), set by the caller */
    int32_t loaded;         /* 1: GEMMs run on it; 0: CPU contexts cannot be created, see error */
    int32_t threads;        /* the provider's current thread count (process-wide) */
    char id[16];            /* "openblas", "onednn", "internal" */
    char description[128];  /* e.g. "OpenBLAS 0.3.21, SkylakeX kernels (AVX-512)" */
    char kernel_isa[16];    /* instruction set of the kernels in use: "AVX-512", "AVX2", "SSE3", "C++", ... */
    char cpu_isa[16];       /* the best this CPU (and OS) offers: "AVX-512", "AVX2", "AVX", "SSE" */
    char warning[512];      /* "" or a problem with its fix, e.g. SSE kernels on an AVX-512 CPU */
    char error[512];        /* "" or why the provider asked for could not be loaded */
} fg_gemm_provider_info;

FG_API fg_status fg_gemm_provider_info_get(fg_gemm_provider_info* out_info);

/* ---------------------------------------------------------------- contexts */

typedef struct fg_context fg_context;
typedef struct fg_buffer fg_buffer;

/* Environment variables read when a CPU context is created:
 *   FG_CPU_LOOP_THREADS  threads of the element-wise loops when cpu_threads is 0 (1: on the caller only).
 *   FG_KEEP_NOISE_MB     the most of one block's activity noise (MiB, default 64) LG-FG-A keeps for its
 *                        estimate; above it the noise is drawn again (less memory, more time).
 *   FG_CPU_FUSED=0       runs the forward-gradient layer tails as separate primitives (the same numbers;
 *                        for checking and profiling).
 * and once per process: FG_GEMM_PROVIDER (see fg_gemm_provider_info), and FG_CUDA_PLUGIN (the path of
 * the CUDA plug-in to load instead of libforwardgrad_cuda next to this library). */

typedef struct fg_context_options {
    uint32_t size;       /* sizeof(fg_context_options) */
    int32_t backend;     /* FG_BACKEND_CPU or FG_BACKEND_CUDA */
    int32_t device;      /* CUDA device index; ignored on CPU */
    int32_t cpu_threads; /* GEMM provider / loop threads on CPU; 0 = library default: the provider's own
                            count (OPENBLAS_NUM_THREADS) for GEMMs, and for the element-wise loops the
                            same count, or FG_CPU_LOOP_THREADS when that is set. The provider's count is
                            process-wide: the last context created with cpu_threads > 0 sets it. The
                            loops' worker pool is process-wide too (one loop at a time uses it; another
                            thread's loop runs on its caller). Results are bit-identical for any loop
                            thread count; across GEMM thread counts they agree to float32 rounding (a
                            provider may split a GEMM's inner dimension between its threads). */
    uint64_t seed;       /* default seed for parameter initialisation and tangents */
    int32_t gemm_tf32;   /* CUDA: 1 = GEMMs on TF32 tensor cores (faster, ~1e-3 relative error in
                            each product), 0 = FP32 like the CPU reference; ignored on CPU. Callers
                            built before this field set a smaller size and get 0. */
} fg_context_options;

typedef struct fg_context_properties {
    uint32_t size;          /* sizeof(fg_context_properties), set by the caller */
    int32_t backend;
    int32_t device;
    int32_t cpu_threads;
    uint64_t seed;
    uint64_t total_memory;  /* bytes: device memory on CUDA, physical memory on CPU */
    uint64_t free_memory;
    uint64_t live_bytes;    /* bytes held by this context's live buffers and workspaces */
    uint64_t peak_bytes;
    char device_name[128];
    char gemm_name[128];    /* e.g. "OpenBLAS 0.3.21 (pthreads)", "internal blocked GEMM", "cuBLAS 11.8" */
} fg_context_properties;

FG_API fg_status fg_context_create(const fg_context_options* options, fg_context** out_context);
/* Drops the caller's reference; the context lives on while buffers of it are alive. */
FG_API fg_status fg_context_free(fg_context* context);
FG_API fg_status fg_context_info(fg_context* context, fg_context_properties* out_properties);
/* Waits until all work queued on the context has finished (no-op on CPU). */
FG_API fg_status fg_context_synchronize(fg_context* context);
FG_API fg_status fg_context_live_bytes(fg_context* context, uint64_t* out_bytes);

/* ---------------------------------------------------------------- buffers */

FG_API fg_status fg_buffer_alloc(fg_context* context, uint64_t bytes, fg_buffer** out_buffer);
FG_API fg_status fg_buffer_free(fg_buffer* buffer);
FG_API fg_status fg_buffer_size(const fg_buffer* buffer, uint64_t* out_bytes);
FG_API fg_status fg_buffer_upload(fg_buffer* buffer, uint64_t offset_bytes, const void* source, uint64_t bytes);
FG_API fg_status fg_buffer_download(const fg_buffer* buffer, uint64_t offset_bytes, void* destination, uint64_t bytes);
/* Sets count float32 elements starting at element offset to value. */
FG_API fg_status fg_buffer_fill_f32(fg_buffer* buffer, uint64_t offset, uint64_t count, float value);
/* Copies bytes between two buffers of the same context (ranges may not overlap). */
FG_API fg_status fg_buffer_copy(fg_buffer* destination, uint64_t destination_offset_bytes,
                                const fg_buffer* source, uint64_t source_offset_bytes, uint64_t bytes);

/* ---------------------------------------------------------------- GEMM */

#define FG_NO_TRANS 0
#define FG_TRANS 1

/* C = alpha * op(A) * op(B) + beta * C, row-major, contiguous.
 * op(A) is (m, k): A is (m, k) or, with trans_a, (k, m). op(B) is (k, n). C is (m, n).
 * beta == 0 ignores the old contents of C (NaNs included). */
FG_API fg_status fg_gemm(fg_context* context, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                         float alpha, const fg_buffer* a, const fg_buffer* b, float beta, fg_buffer* c);

/* ---------------------------------------------------------------- random tangents */

/* out[i] ~ N(0, 1) for i < count, from Philox4x32-10 keyed by (seed, step, tensor_id, i):
 * key = (seed & 0xffffffff, seed >> 32), counter = (i/4 & 0xffffffff, i/4 >> 32, step, tensor_id);
 * the four 32-bit words w0..w3 become uniforms u = (w + 0.5) * 2^-32 and two Box-Muller pairs
 * (w0,w1) -> lanes 0,1 and (w2,w3) -> lanes 2,3: lane 0 = r cos(2 pi u1), lane 1 = r sin(2 pi u1),
 * r = sqrt(-2 ln u0). Element i takes lane i % 4. The arithmetic is float: ln u0 by logf, or for
 * u0 > 1 - 2^-6 by a series in 1 - u0 (exact as r nears 0); the angle split exactly into its quadrant
 * (top two bits of w1) and the rest. Every value is within 1e-6 (+ 1e-6 relative) of the all-double
 * formula, and small radii keep their relative precision, on every backend. */
FG_API fg_status fg_random_normal(fg_context* context, fg_buffer* out, uint64_t count, uint64_t seed, uint32_t step,
                                  uint32_t tensor_id);
/* The raw Philox4x32-10 block for known-answer tests: out[4] = philox(counter[4], key[2]). Host only. */
FG_API fg_status fg_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* ---------------------------------------------------------------- linear layers
 * Three layer kinds share one signature family; R is the number of rows of X.
 *   FG_LAYER_DENSE: X is (R, n), W is (n, m), b is (m).           Y = X W + b
 *   FG_LAYER_GROUP: X is (R, G, n/G), W is (G, n/G, m/G), b is (m):
 *                   Y[r,g,:] = X[r,g,:] W[g] + b[g*(m/G) ...]      (block-diagonal, groups = G)
 *   FG_LAYER_TOKEN: X is (S, P, C) with R = S*P, n = m = C, W is (P, P), b is (P), groups = P:
 *                   Y[s,q,c] = sum_p W[p,q] X[s,p,c] + b[q]         (token mixing, one P x P matrix
 *                   shared by every channel; the LN that follows is over C as usual)
 * `groups` must be 1 for FG_LAYER_DENSE. */
#define FG_LAYER_DENSE 0
#define FG_LAYER_GROUP 1
#define FG_LAYER_TOKEN 2

/* Fused JVP: YY = XX W  (+ b on the primal rows only), then, if wdot != NULL,
 * YY[k] += X Wdot_k for k = 1..K.
 *   XX is ((K+1)*R, n), W as above, b is (m) or NULL, wdot is (K, |W|) or NULL, YY is ((K+1)*R, m).
 * K = 0 is the plain forward pass. One GEMM (batched for groups/tokens) covers all K+1 stacks. */
FG_API fg_status fg_linear_jvp(fg_context* context, int32_t kind, int64_t rows, int64_t n, int64_t m,
                               int64_t groups, int64_t tangents, const fg_buffer* xx, const fg_buffer* w,
                               const fg_buffer* b, const fg_buffer* wdot, fg_buffer* yy);

/* Backward of Y = X W + b: dX = dY W^T (if dx), dW (+)= X^T dY (if dw), db (+)= sum_r dY (if db).
 * accumulate = 0 overwrites dW/db, 1 adds to them; dX is always overwritten.
 *   X is (R, n), dY is (R, m), dX is (R, n). Any of dx, dw, db may be NULL; x is needed only
 *   when dw is given and w only when dx is given. */
FG_API fg_status fg_linear_backward(fg_context* context, int32_t kind, int64_t rows, int64_t n, int64_t m,
                                    int64_t groups, const fg_buffer* x, const fg_buffer* w, const fg_buffer* dy,
                                    fg_buffer* dx, fg_buffer* dw, fg_buffer* db, int32_t accumulate);

/* ---------------------------------------------------------------- LayerNorm (no affine, eps 1e-5)
 * Over the last axis of width D; the per-group view is rows = R*G, D = C/G. */
#define FG_LN_EPS 1e-5f

/* Y = (X - mean) * rstd. X, Y are (R, D); mean, rstd are (R) and are written (saved for JVP/VJP). */
FG_API fg_status fg_layernorm_forward(fg_context* context, int64_t rows, int64_t dim, const fg_buffer* x,
                                      fg_buffer* y, fg_buffer* mean, fg_buffer* rstd);
/* Ydot_k = rstd * (Xdot_k - mean(Xdot_k) - Y * mean(Y * Xdot_k)) for k = 1..K.
 *   Y is (R, D) (the forward output), rstd (R), xdot and ydot are (K, R, D); ydot may alias xdot. */
FG_API fg_status fg_layernorm_jvp(fg_context* context, int64_t rows, int64_t dim, int64_t tangents,
                                  const fg_buffer* y, const fg_buffer* rstd, const fg_buffer* xdot, fg_buffer* ydot);
/* dX = rstd * (dY - mean(dY) - Y * mean(Y * dY)). Y, dY, dX are (R, D); dx may alias dy. */
FG_API fg_status fg_layernorm_vjp(fg_context* context, int64_t rows, int64_t dim, const fg_buffer* y,
                                  const fg_buffer* rstd, const fg_buffer* dy, fg_buffer* dx);

/* ---------------------------------------------------------------- perturbed ReLU
 * Primal: A = relu(Z + Res) (Res optional). Tangents, k = 1..K:
 *   Adot_k = [A > 0] * (Zdot_k + U_k + Resdot_k), each of Zdot, U, Resdot optional (NULL = 0).
 * Z, Res, A are (R, D); zdot, u, resdot, adot are (K, R, D). adot may alias zdot. With K = 0
 * only the primal is computed. */
FG_API fg_status fg_relu_jvp(fg_context* context, int64_t count, int64_t tangents, const fg_buffer* z,
                             const fg_buffer* residual, const fg_buffer* zdot, const fg_buffer* u,
                             const fg_buffer* residual_dot, fg_buffer* a, fg_buffer* adot);
/* dZ = [A > 0] * dA (A is the forward output); dz may alias da. */
FG_API fg_status fg_relu_backward(fg_context* context, int64_t count, const fg_buffer* a, const fg_buffer* da,
                                  fg_buffer* dz);

/* ---------------------------------------------------------------- fused local loss
 * The block's local loss (METHOD.md section 2): xbar = mean_p X, logits = xbar W + b,
 * loss_n = cross-entropy(logits_n, y_n), s_n = softmax(logits_n) - onehot(y_n), v_n = W s_n (C).
 *   X is (B, P, C), xdot is (K, B, P, C) or NULL, W is (C, N), b is (N), labels int32 (B).
 * Outputs (each may be NULL when not wanted):
 *   loss (B)            per-example cross-entropy
 *   logits (B, N)
 *   d (K, B, P, G)      d[k,n,p,g] = 1/(P*B) * sum_{c in group g} xdot[k,n,p,c] * v_n[c]
 *                       (the directional derivative of the batch-mean loss copy (n,p,g))
 *   dw (C, N), db (N)   exact head gradient of the batch-mean loss (input stop-gradient), overwritten
 *   dx (B, P, C)        gradient of the batch-mean loss w.r.t. X: v_n[c] / (P*B)
 * Nothing of size P*G*C is materialised. */
FG_API fg_status fg_local_loss(fg_context* context, int64_t batch, int64_t patches, int64_t channels,
                               int64_t groups, int64_t classes, int64_t tangents, const fg_buffer* x,
                               const fg_buffer* xdot, const fg_buffer* w, const fg_buffer* b,
                               const fg_buffer* labels, fg_buffer* loss, fg_buffer* logits, fg_buffer* d,
                               fg_buffer* dw, fg_buffer* db, fg_buffer* dx);

/* ---------------------------------------------------------------- fused contrastive local loss
 * The self-supervised local loss (METHOD.md section 2, "Contrastive local loss"). The batch holds two
 * augmented views of `pairs` images: rows 0..B-1 of X are view 1, rows B..2B-1 view 2 (B = pairs), and
 * image n's views are rows n and B+n. Each view is pooled like the supervised loss (xbar = mean_p X),
 * projected to D dimensions and L2-normalised: e = normalize(xbar W + b). With view 2 under a
 * stop-gradient, loss_n = cross-entropy over m of <e1_n, SG(e2_m)> / temperature with target m = n.
 *   X is (2B, P, C), xdot is (K, 2B, P, C) or NULL, W is (C, D), b is (D), temperature > 0.
 * Outputs (each may be NULL when not wanted):
 *   loss (B)              per-pair loss
 *   d (K, 2B, P, G)       d[k,n,p,g] = 1/P * sum_{c in group g} xdot[k,n,p,c] * v_n[c], v_n the gradient of
 *                         the batch-mean loss w.r.t. xbar_n; zero for the view-2 rows (stop-gradient)
 *   dw (C, D), db (D)     exact head gradient of the batch-mean loss (input stop-gradient), overwritten
 *   dx (2B, P, C)         gradient of the batch-mean loss w.r.t. X: v_n[c] / P (zero on view-2 rows)
 * Nothing of size P*G*C is materialised. */
#define FG_CONTRASTIVE_DIM 128            /* D of the model's projection heads */
#define FG_CONTRASTIVE_TEMPERATURE 0.5f   /* the model's temperature */
FG_API fg_status fg_contrastive_loss(fg_context* context, int64_t pairs, int64_t patches, int64_t channels,
                                     int64_t groups, int64_t dim, int64_t tangents, float temperature,
                                     const fg_buffer* x, const fg_buffer* xdot, const fg_buffer* w,
                                     const fg_buffer* b, fg_buffer* loss, fg_buffer* d, fg_buffer* dw,
                                     fg_buffer* db, fg_buffer* dx);

/* ---------------------------------------------------------------- gradient estimators */

/* Which directional derivative a perturbed unit (n, p, c) uses, from d (K, B, P, G): */
#define FG_SCALE_GROUP 0  /* d[k,n,p,g(c)], g(c) = c / (C/G)       (channel and group layers)  */
#define FG_SCALE_PATCH 1  /* sum_g d[k,n,p,g]                       (token-mixing layers)       */
#define FG_SCALE_GLOBAL 2 /* sum_{p,g} d[k,n,p,g]                   (one loss: FG-A)            */

/* Activity perturbation, for one layer whose post-linear LN output Z (R = B*P rows, C) was
 * perturbed by U:
 *   G_Z   = (1/K) sum_k scale_k(n,p,c) * U_k * [A > 0]        (A: the ReLU output after Z)
 *   G_lin = LN-VJP(G_Z)  using the LN's saved output Zln (R, C) and rstd (R)
 *   dW (+)= X^T G_lin, db (+)= sum G_lin                      (through fg_linear_backward's layer kinds)
 * For FG_LAYER_TOKEN pass the token layer's own X (B, P, C) and its LN output in (B, P, C) layout.
 *   u is (K, B, P, C), act (B, P, C), d (K, B, P, G), zln (B, P, C), rstd (B*P), x the layer input
 *   (B*P, n_in); n_in is the layer's input width (C, or D_in for a block's first layer) and
 *   layer_groups the `groups` of fg_linear_backward (1 dense, G' group, P token). A group layer's
 *   LN is per group (METHOD.md section 3): then zln is viewed as (B*P*G', C/G') and rstd is (B*P*G').
 *   workspace: at least B*P*C floats, overwritten. dw/db may be NULL. */
FG_API fg_status fg_fga_weight_grad(fg_context* context, int32_t kind, int32_t scale_mode, int64_t batch,
                                    int64_t patches, int64_t channels, int64_t groups, int64_t n_in,
                                    int64_t layer_groups, int64_t tangents, const fg_buffer* u,
                                    const fg_buffer* act, const fg_buffer* d, const fg_buffer* zln,
                                    const fg_buffer* rstd, const fg_buffer* x, fg_buffer* workspace,
                                    fg_buffer* dw, fg_buffer* db, int32_t accumulate);

/* Weight perturbation: param (+)= (1/K) sum_k D_k(slice) * V_k, D_k(g) = sum_{n,p} d[k,n,p,g].
 * A parameter of `count` elements is split into slices that pick its group:
 *   FG_WSLICE_COLUMNS: element (i, j) of an (count/cols, cols) matrix is in group j / (cols/G)
 *   FG_WSLICE_LEADING: element e is in group e / (count/G)
 *   FG_WSLICE_ALL:     every element uses sum_g D_k(g)
 *   v is (K, count), d is (K, B*P*G) viewed as (K, rows, G), grad is (count). */
#define FG_WSLICE_COLUMNS 0
#define FG_WSLICE_LEADING 1
#define FG_WSLICE_ALL 2
FG_API fg_status fg_fgw_grad(fg_context* context, int32_t slice_mode, int64_t count, int64_t cols, int64_t groups,
                             int64_t rows, int64_t tangents, const fg_buffer* v, const fg_buffer* d,
                             fg_buffer* grad, int32_t accumulate);

/* ---------------------------------------------------------------- optimizers */

#define FG_OPT_SGD 0   /* v = momentum*v + g' ; p -= lr * v (g' = g + wd*p for L2 decay)            */
#define FG_OPT_ADAMW 1 /* Adam moments with bias correction; decoupled decay p -= lr*wd*p          */

typedef struct fg_optimizer_params {
    uint32_t size;          /* sizeof(fg_optimizer_params) */
    int32_t kind;           /* FG_OPT_SGD or FG_OPT_ADAMW */
    float lr;
    float momentum;         /* SGD */
    float weight_decay;
    int32_t decoupled;      /* SGD: 1 = p -= lr*wd*p (decoupled), 0 = L2 added to the gradient; AdamW: always decoupled */
    float beta1, beta2, eps;/* AdamW */
    int64_t step;           /* 1-based step count, for Adam's bias correction */
} fg_optimizer_params;

/* Updates `count` parameters in one call. params[i], grads[i], state1[i] (momentum / first moment)
 * and state2[i] (AdamW second moment; NULL for SGD) have the same size; decay[i] = 1 applies weight
 * decay to parameter i (weights), 0 skips it (biases). */
FG_API fg_status fg_optimizer_step(fg_context* context, const fg_optimizer_params* params, int32_t count,
                                   fg_buffer* const* parameters, fg_buffer* const* grads, fg_buffer* const* state1,
                                   fg_buffer* const* state2, const int32_t* decay);


/* ---------------------------------------------------------------- LocalMixer model
 * The LocalMixer of METHOD.md section 3 with every training method of section 4. The model owns
 * its parameters and their gradients as buffers of its context (borrowed handles: valid while the
 * model lives, never freed by the caller). Images are (B, H, W, C_in) float32, already normalised
 * per channel; labels are int32 (B). */

typedef struct fg_mixer fg_mixer;

typedef struct fg_mixer_config {
    uint32_t size;          /* sizeof(fg_mixer_config) */
    int32_t image_height, image_width, image_channels;
    int32_t classes;
    int32_t blocks;         /* >= 1; block 0 has no token mixing and no residual */
    int32_t grid;           /* patch grid n: P = n*n patches of (H/n) x (W/n) pixels */
    int32_t channels;       /* C */
    int32_t groups;         /* G, divides C */
    int32_t pre_linear_ln;  /* 1: LN before each linear layer too: over the layer's input width, per group
                               before the group layer */
    int32_t inter_ln;       /* 1: LN per group on a block's output, read only by its local loss */
    int32_t final_ln;       /* 1: LN over C on the patch mean, before the final classifier */
    uint64_t seed;          /* initialisation: N(0, s^2), s = min(2/sqrt(fan_in), 0.1); biases and final head 0 */
    int32_t local_loss;     /* the blocks' local losses: FG_LOSS_CROSS_ENTROPY (0) or FG_LOSS_CONTRASTIVE */
} fg_mixer_config;

/* FG_LOSS_CONTRASTIVE: each block head is a (C, FG_CONTRASTIVE_DIM) projection trained by the contrastive
 * local loss (fg_contrastive_loss, temperature FG_CONTRASTIVE_TEMPERATURE). A step's batch is then an even
 * number of images, view 1 of every image followed by view 2 in the same order, with a label for each; the
 * final classifier reads the last block through a stop-gradient (scaled by last_layer_lr) in every method,
 * so it is a linear readout trained alongside. BP backpropagates the last block's contrastive loss end to
 * end, L-BP every block's, LG-BP each inside its block; LG-FG-A estimates LG-BP's gradient. FG-W, FG-A and
 * LG-FG-W are refused. */
#define FG_LOSS_CROSS_ENTROPY 0
#define FG_LOSS_CONTRASTIVE 1

typedef struct fg_param_info {
    uint32_t size;          /* sizeof(fg_param_info), set by the caller */
    int32_t rank;
    int64_t shape[4];
    int64_t elements;
    int32_t is_weight;      /* 1: weight decay applies; 0: bias */
    int32_t block;          /* block index, or -1 for the final classifier */
    char name[64];          /* e.g. "block1.token.weight", "block0.head.bias", "final.weight" */
} fg_param_info;

/* In every method the block heads get the exact gradient of their own loss (input detached) times head_lr,
 * and the final classifier the exact gradient of the final loss times last_layer_lr. */
#define FG_METHOD_BP 0      /* exact backprop of the final loss, end to end */
#define FG_METHOD_LBP 1     /* backbone: backprop of the sum of all local losses, end to end (no stop-gradient
                               between blocks); the final classifier reads detached features */
#define FG_METHOD_LGBP 2    /* backprop inside each block of its local loss, stop-gradient between blocks */
#define FG_METHOD_FGW 3     /* weight perturbation, final loss */
#define FG_METHOD_FGA 4     /* activity perturbation, final loss */
#define FG_METHOD_LGFGW 5   /* weight perturbation, local losses */
#define FG_METHOD_LGFGA 6   /* activity perturbation, local losses (the paper's method) */
/* Feedback alignment: the backward pass of BP, L-BP or LG-BP with a fixed random feedback matrix in place of
 * every weight that carries a gradient back to its input (dX = dY B^T; dW = X^T dY is unchanged). */
#define FG_METHOD_FA 7      /* BP's structure with feedback matrices */
#define FG_METHOD_LFA 8     /* L-BP's structure with feedback matrices */
#define FG_METHOD_LGFA 9    /* LG-BP's structure with feedback matrices */
#define FG_METHOD_DFA 10    /* direct feedback alignment: every layer's output gets the final loss's output error
                               projected by its own fixed random matrix; no gradient passes between layers */

typedef struct fg_step_options {
    uint32_t size;          /* sizeof(fg_step_options) */
    int32_t method;         /* FG_METHOD_* */
    int32_t tangents;       /* K >= 1 for forward-gradient methods (ignored by backprop methods) */
    uint32_t step;          /* with seed, keys the Philox tangents of this step */
    uint64_t seed;
    float head_lr;          /* scale of the block heads' gradients (default 1.0) */
    float last_layer_lr;    /* scale of the final classifier's gradient, every method (default 0.1) */
    int32_t channel_slices; /* LG-FG-W's channel-layer estimate: FG_SLICES_SUM (0, default) or FG_SLICES_GROUP */
    /* A shard of a larger batch (data parallel): this batch is images [global_first, global_first + batch) of a
     * global batch of global_batch images, and FG-A / LG-FG-A draw each image's activity noise where the global
     * batch draws it (METHOD.md section 1), so the shards' gradients add up to the global batch's.
     * global_batch 0 (default): this batch is the whole batch, global_first must be 0. A model with the contrastive
     * loss refuses a shard (FG_ERR_INVALID_ARGUMENT): it would separate the two views of an image. */
    int64_t global_batch;
    int64_t global_first;
} fg_step_options;

/* How LG-FG-W scales the channel layer's weight tangents (METHOD.md section 2): */
#define FG_SLICES_SUM 0     /* every column by the sum over groups of D(g): unbiased for the LN over C after it */
#define FG_SLICES_GROUP 1   /* column j by D(group of j), as the official code does (biased there) */

#define FG_MAX_BLOCKS 16

typedef struct fg_step_stats {
    uint32_t size;          /* sizeof(fg_step_stats), set by the caller */
    float loss;             /* batch-mean cross-entropy of the final classifier */
    float accuracy;         /* fraction of the batch the final classifier gets right */
    int32_t blocks;
    float block_loss[FG_MAX_BLOCKS]; /* batch-mean local loss of each block */
    uint64_t workspace_bytes;        /* activation workspace this method needed for this batch */
} fg_step_stats;

FG_API fg_status fg_mixer_create(fg_context* context, const fg_mixer_config* config, fg_mixer** out_model);
FG_API fg_status fg_mixer_free(fg_mixer* model);
FG_API fg_status fg_mixer_param_count(fg_mixer* model, int32_t* out_tensors, int64_t* out_elements);
FG_API fg_status fg_mixer_param_info(fg_mixer* model, int32_t index, fg_param_info* out_info);
/* Borrowed handles of parameter `index` and of its gradient (same size). */
FG_API fg_status fg_mixer_param(fg_mixer* model, int32_t index, fg_buffer** out_param, fg_buffer** out_grad);
/* logits (B, classes) of the final classifier. */
FG_API fg_status fg_mixer_forward(fg_mixer* model, int64_t batch, const fg_buffer* images, fg_buffer* logits);
/* Fills every gradient buffer for one step of options->method and reports the losses. */
FG_API fg_status fg_mixer_gradients(fg_mixer* model, int64_t batch, const fg_buffer* images, const fg_buffer* labels,
                                    const fg_step_options* options, fg_step_stats* out_stats);
/* Activation workspace bytes a step of `method` with `tangents` at `batch` needs. */
FG_API fg_status fg_mixer_workspace_bytes(fg_mixer* model, int32_t method, int32_t tangents, int64_t batch,
                                          uint64_t* out_bytes);
/* Cosine similarity, per parameter tensor, between the method's estimate and the exact gradient of
 * the method's own objective (LG-FG-* vs LG-BP, FG-* vs BP; FA vs BP, L-FA vs L-BP, LG-FA vs LG-BP, DFA vs BP)
 * on one batch; out_cosine has param_count entries. Leaves the gradient buffers holding the estimate. */
FG_API fg_status fg_mixer_gradient_cosine(fg_mixer* model, int64_t batch, const fg_buffer* images,
                                          const fg_buffer* labels, const fg_step_options* options,
                                          float* out_cosine, int32_t capacity);

/* Fixed random feedback matrices of the feedback-alignment methods, never trained. For FG_METHOD_FA, _LFA
 * and _LGFA (one shared list): one per weight of the backbone, the block heads and the final classifier, with
 * that weight's shape, named "feedback." + the weight's name. For FG_METHOD_DFA: one (C, N) matrix per layer,
 * named "direct_feedback.blockK.token|channel|group". Other methods have none (count 0). The model draws a
 * list on first use from N(0, s^2), s = min(2/sqrt(rows), 0.1) (rows: the first dimension, c for group
 * weights), Philox keyed by (config seed, step 0, tensor id 0x30000 + i) for the shared list and 0x38000 + i for
 * DFA's, i the index in the list, and keeps it for its life. The handles are borrowed like fg_mixer_param's;
 * overwrite a matrix (fg_buffer_upload) to restore it from a checkpoint. */
FG_API fg_status fg_mixer_feedback_count(fg_mixer* model, int32_t method, int32_t* out_tensors);
/* out_info->is_weight is 0 (no weight decay) and block is the block of the layer it serves (-1: final). */
FG_API fg_status fg_mixer_feedback_info(fg_mixer* model, int32_t method, int32_t index, fg_param_info* out_info);
FG_API fg_status fg_mixer_feedback(fg_mixer* model, int32_t method, int32_t index, fg_buffer** out_feedback);

/* Weight perturbation (FG-W, LG-FG-W) in two halves, for data-parallel ranks that exchange only the
 * directional derivatives. Every perturbed parameter's estimate is (1/K) sum_k D_k(slice) V_k, where the
 * tangents V_k depend on (seed, step) alone and D_k(g) = sum_{n,p} d[k,n,p,g] of a local loss (LG-FG-W: K*G
 * sums per block, block-major; FG-W: the final loss's K sums). fg_mixer_fgw_sums is fg_mixer_gradients
 * (same gradients and stats) that also returns the sums; ranks add their sums, each times its share of the
 * global batch (d is a batch mean), and fg_mixer_fgw_apply rewrites the perturbed parameters' gradients
 * from the added sums (the heads and the final classifier keep theirs). On one batch, sums then apply
 * gives the gradients of fg_mixer_gradients up to float rounding. */
FG_API fg_status fg_mixer_fgw_sums(fg_mixer* model, int64_t batch, const fg_buffer* images, const fg_buffer* labels,
                                   const fg_step_options* options, float* out_sums, int64_t capacity,
                                   fg_step_stats* out_stats);
FG_API fg_status fg_mixer_fgw_apply(fg_mixer* model, const fg_step_options* options, const float* sums, int64_t count);

/* Block pipeline stages: blocks [first, last) of the model (0 <= first < last <= blocks) on the stage's input,
 * the images when first == 0 (input may be NULL), else input, the (batch, P, C) output of block first-1
 * (images may be NULL). output receives the (batch, P, C) output of block last-1, what block `last` reads.
 * fg_mixer_stage_forward runs the blocks only (no loss, no gradient). fg_mixer_stage_gradients computes the
 * gradients of the range's blocks and heads, and with last == blocks of the final classifier, leaving every
 * other gradient buffer untouched (output may be NULL); its stats hold the range's block losses (the others
 * 0) and, with last == blocks, the final loss and accuracy. Only the local methods LG-BP, LG-FA, LG-FG-A and
 * LG-FG-W, whose gradients never cross a block boundary, run in stages; the others are
 * FG_ERR_INVALID_ARGUMENT. Chaining the stages of a split of the blocks gives fg_mixer_gradients's gradients
 * and statistics bit for bit (the random streams are keyed by block and parameter). */
FG_API fg_status fg_mixer_stage_forward(fg_mixer* model, int64_t batch, const fg_buffer* images,
                                        const fg_buffer* input, int32_t first, int32_t last, fg_buffer* output);
FG_API fg_status fg_mixer_stage_gradients(fg_mixer* model, int64_t batch, const fg_buffer* images,
                                          const fg_buffer* input, const fg_buffer* labels,
                                          const fg_step_options* options, int32_t first, int32_t last,
                                          fg_buffer* output, fg_step_stats* out_stats);

#ifdef __cplusplus
}
#endif
#endif /* FORWARDGRAD_H */
