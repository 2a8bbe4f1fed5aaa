// The backend interface: memory and the primitive kernels every op is built from.
//
// The CPU backend (src/cpu) is the reference; the CUDA backend (src/cuda, a plug-in loaded at
// run time) implements the same primitives with the same signatures and is correct when it
// matches the CPU backend on random inputs. Composite ops (linear layers, local loss, estimators)
// live once in src/core/ops_*.cpp and call only these primitives, so both backends share them.
//
// All pointers are backend memory (host on CPU, device on CUDA). Every primitive may run
// asynchronously on the backend's stream; none synchronises. Errors are thrown as fg::Error.
// Shapes are in elements; row-major throughout.
#pragma once
#include <cstddef>
#include <cstdint>

#include "error.h"
#include "forwardgrad.h"

namespace fg {

// Where a layer's R rows sit in its activity-noise stream: rows [first, first + R) of `total` rows (total 0: the R
// rows are all of them). Element (k, r, unit) of a (K, R, m) noise tensor is stream element
// (k * total + first + r) * m + unit, so a shard of a global batch draws the numbers the whole batch draws for
// the same images (data-parallel FG-A / LG-FG-A, fg_step_options::global_batch).
struct NoiseRows {
    int64_t total = 0, first = 0;
    int64_t rows_of(int64_t rows) const { return total > 0 ? total : rows; }
    // stream index of tangent k's first element, and the stream's length
    uint64_t begin(int64_t k, int64_t rows, int64_t width) const {
        return static_cast<uint64_t>((k * rows_of(rows) + first) * width);
    }
    uint64_t length(int64_t tangents, int64_t rows, int64_t width) const {
        return static_cast<uint64_t>(tangents * rows_of(rows) * width);
    }
};

// C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b] for b < batch, row-major with leading
// dimensions (elements between rows) and strides (elements between batch entries; 0 = shared).
struct GemmArgs {
    bool trans_a = false, trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    float alpha = 1.0f;
    const float* a = nullptr;
    int64_t lda = 0, stride_a = 0;
    const float* b = nullptr;
    int64_t ldb = 0, stride_b = 0;
    float beta = 0.0f;
    float* c = nullptr;
    int64_t ldc = 0, stride_c = 0;
    int64_t batch = 1;
};

// One contiguous row-major GEMM: C (m, n) = alpha * op(A) op(B) + beta * C, leading dimensions
// implied by the shapes (A is (m, k) or, transposed, (k, m); B is (k, n) or (n, k)).
inline GemmArgs contiguous_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                const float* a, const float* b, float beta, float* c) {
    GemmArgs g;
    g.trans_a = trans_a;
    g.trans_b = trans_b;
    g.m = m;
    g.n = n;
    g.k = k;
    g.alpha = alpha;
    g.a = a;
    g.lda = trans_a ? m : k;
    g.b = b;
    g.ldb = trans_b ? k : n;
    g.beta = beta;
    g.c = c;
    g.ldc = n;
    return g;
}

class Backend {
public:
    virtual ~Backend() = default;

    virtual int32_t kind() const = 0;  // FG_BACKEND_CPU / FG_BACKEND_CUDA
    // Fills device_name, gemm_name, total_memory, free_memory of `out`.
    virtual void describe(fg_context_properties& out) = 0;

    // ---- memory
    virtual void* allocate(size_t bytes) = 0;                // throws Error(FG_ERR_OUT_OF_MEMORY)
    virtual void deallocate(void* p) noexcept = 0;
    virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
    virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
    virtual void copy(void* dst, const void* src, size_t bytes) = 0;
    virtual void fill(float* dst, size_t count, float value) = 0;
    virtual void synchronize() = 0;

    // ---- GEMM (src/cpu/gemm.cpp, src/cuda/gemm.cu)
    virtual void gemm(const GemmArgs& g) = 0;

    // ---- reductions and broadcasts over a (outer, mid, inner) view (src/*/reduce.*)
    // y[o, j, i] += bias[j]
    virtual void add_bias(int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias) = 0;
    // out[j] = (accumulate ? out[j] : 0) + scale * sum_{o, i} x[o, j, i]
    virtual void sum_mid(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                         bool accumulate) = 0;
    // out[o, j, i] = scale * v[o, i]   (x is (outer, inner), broadcast over mid)
    virtual void broadcast_mid(int64_t outer, int64_t mid, int64_t inner, const float* v, float scale,
                               float* out) = 0;

    // ---- LayerNorm without affine parameters over the last axis (src/*/layernorm.*)
    // x, y are (rows, dim); mean, rstd are (rows).
    virtual void layernorm_forward(int64_t rows, int64_t dim, const float* x, float* y, float* mean,
                                   float* rstd) = 0;
    // y (rows, dim), rstd (rows); xdot, ydot (K, rows, dim), ydot may alias xdot.
    virtual void layernorm_jvp(int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd,
                               const float* xdot, float* ydot) = 0;
    // dx may alias dy.
    virtual void layernorm_vjp(int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy,
                               float* dx) = 0;

    // ---- perturbed ReLU (src/*/relu.*): see fg_relu_jvp / fg_relu_backward in forwardgrad.h.
    virtual void relu_jvp(int64_t count, int64_t tangents, const float* z, const float* residual,
                          const float* zdot, const float* u, const float* residual_dot, float* a, float* adot) = 0;
    virtual void relu_backward(int64_t count, const float* a, const float* da, float* dz) = 0;

    // ---- local loss pieces (src/*/loss.*)
    // logits (B, N), labels int32 (B) -> loss (B) (may be null), s = softmax - onehot (B, N).
    // A label outside [0, N) makes that row's loss NaN and s zero (the op validates labels on upload paths).
    virtual void softmax_xent(int64_t batch, int64_t classes, const float* logits, const int32_t* labels,
                              float* loss, float* s) = 0;
    // d[k,n,p,g] = scale * sum_{c in g} xdot[k,n,p,c] * v[n,c]; xdot (K,B,P,C), v (B,C), d (K,B,P,G).
    virtual void group_dot(int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                           const float* xdot, const float* v, float scale, float* d) = 0;

    // ---- row L2 normalisation, for the contrastive loss's projections (src/*/normalize.*)
    // y = x * inv_norm per row, inv_norm = 1 / max(||x||, 1e-12); x, y (rows, dim), inv_norm (rows).
    virtual void l2_normalize(int64_t rows, int64_t dim, const float* x, float* y, float* inv_norm) = 0;
    // dx = inv_norm * (dy - y <y, dy>) per row (y the forward output); dx may alias dy.
    virtual void l2_normalize_vjp(int64_t rows, int64_t dim, const float* y, const float* inv_norm, const float* dy,
                                  float* dx) = 0;

    // ---- estimators (src/*/estimators.*)
    // gz[n,p,c] = (1/K) sum_k scale_k(n,p,c) * u[k,n,p,c] * [act[n,p,c] > 0]; mode FG_SCALE_*.
    virtual void fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                           int64_t groups, const float* u, const float* act, const float* d, float* gz) = 0;
    // see fg_fgw_grad in forwardgrad.h.
    virtual void fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                          int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) = 0;

    // ---- fused layer tails of the forward-gradient methods (one pass over a layer's rows where a backend
    // overrides them; the defaults below compose the primitives above and need `noise_scratch`).
    // Activity noise u (K, R, m) is Philox noise (seed, step, noise_id), the numbers random_normal gives, at the
    // stream positions NoiseRows gives.

    // Forward: z = LN(h) (ln_rows, ln_dim views of (R, m)), a = ReLU(z + residual); with K tangents t (K, R, m):
    // t = LN_jvp(t) when h_tangents (else t starts at 0), then t_k = [a > 0] (t_k + u_k + residual_dot_k),
    // u only when `noise`. residual, residual_dot may be null.
    struct NormReluJvp {
        int64_t rows = 0, width = 0;     // R, m
        int64_t ln_rows = 0, ln_dim = 0;  // R*G, m/G for a per-group LN; else R, m
        int64_t tangents = 0;
        const float* h = nullptr;
        float* t = nullptr;
        bool h_tangents = false;
        const float* residual = nullptr;
        const float* residual_dot = nullptr;
        bool noise = false;
        uint64_t seed = 0;
        uint32_t step = 0, noise_id = 0;
        NoiseRows noise_rows;
        float* noise_out = nullptr;  // (K, R, m) or null: where to keep the noise for the estimate
        // The linear layer's bias, added to h here instead of in a pass of its own (only where fuses_bias()):
        // h[r, c] + bias[c], or + bias[r % bias_period] with bias_period > 0 (the token layer's, per patch).
        const float* bias = nullptr;
        int64_t bias_period = 0;
        float* z = nullptr;
        float* mean = nullptr;  // (ln_rows)
        float* rstd = nullptr;  // (ln_rows)
        float* a = nullptr;
    };
    virtual void norm_relu_jvp(const NormReluJvp& p, float* noise_scratch) {
        if (p.bias) fail(FG_ERR_INTERNAL, "norm_relu_jvp: a bias reached a backend that does not fuse it");
        layernorm_forward(p.ln_rows, p.ln_dim, p.h, p.z, p.mean, p.rstd);
        if (p.tangents > 0 && p.h_tangents) layernorm_jvp(p.ln_rows, p.ln_dim, p.tangents, p.z, p.rstd, p.t, p.t);
        float* u = nullptr;
        if (p.tangents > 0 && p.noise) {
            u = p.noise_out ? p.noise_out : noise_scratch;
            draw_noise(u, p.tangents, p.rows, p.width, p.seed, p.step, p.noise_id, p.noise_rows);
        }
        relu_jvp(p.rows * p.width, p.tangents, p.z, p.residual, p.h_tangents ? p.t : nullptr, u,
                 p.tangents > 0 ? p.residual_dot : nullptr, p.a, p.tangents > 0 ? p.t : nullptr);
    }

    // The activity estimate of one layer with respect to its pre-LN output:
    // gz = LN_vjp(z, rstd, fga_scale(mode, u, a, d)), u the layer's noise as above: noise_in where the forward
    // pass kept it, else drawn again. Shapes as fga_scale with (B, P, C) = (batch, patches, width); z, rstd the
    // layer's LN output and statistics.
    struct FgaNormVjp {
        int32_t mode = FG_SCALE_GROUP;
        int64_t tangents = 0, batch = 0, patches = 0, width = 0, groups = 1;
        int64_t ln_rows = 0, ln_dim = 0;
        uint64_t seed = 0;
        uint32_t step = 0, noise_id = 0;
        NoiseRows noise_rows;
        const float* noise_in = nullptr;  // (K, R, m) the noise norm_relu_jvp kept, or null
        const float* a = nullptr;         // (R, m) only its sign is read: the ReLU output, or z where a = ReLU(z)
        const float* d = nullptr;
        const float* z = nullptr;
        const float* rstd = nullptr;
        float* gz = nullptr;
    };
    virtual void fga_norm_vjp(const FgaNormVjp& p, float* noise_scratch) {
        const float* u = p.noise_in;
        if (!u) {
            draw_noise(noise_scratch, p.tangents, p.batch * p.patches, p.width, p.seed, p.step, p.noise_id, p.noise_rows);
            u = noise_scratch;
        }
        fga_scale(p.mode, p.tangents, p.batch, p.patches, p.width, p.groups, u, p.a, p.d, p.gz);
        layernorm_vjp(p.ln_rows, p.ln_dim, p.z, p.rstd, p.gz, p.gz);
    }
    // Whether the two above need no noise_scratch when the noise is not kept (they draw it as they go).
    virtual bool fuses_noise() const { return false; }
    // Whether norm_relu_jvp takes the layer's bias (NormReluJvp::bias); else the caller adds it first.
    virtual bool fuses_bias() const { return false; }

    // Backprop through a layer's ReLU and its post-linear LN: dh = LN_vjp(z, rstd, [mask > 0] dy), (rows, width)
    // each, the LN over (ln_rows, ln_dim). mask is the ReLU output, or z where no residual is added (the same
    // sign). masked, if not null, also receives [mask > 0] dy (the residual's gradient; may alias dy); dh may
    // alias dy when masked does not.
    struct ReluNormVjp {
        int64_t rows = 0, width = 0;
        int64_t ln_rows = 0, ln_dim = 0;
        const float* mask = nullptr;
        const float* dy = nullptr;
        float* masked = nullptr;
        const float* z = nullptr;
        const float* rstd = nullptr;
        float* dh = nullptr;
    };
    virtual void relu_norm_vjp(const ReluNormVjp& p) {
        float* dz = p.masked ? p.masked : p.dh;
        relu_backward(p.rows * p.width, p.mask, p.dy, dz);
        layernorm_vjp(p.ln_rows, p.ln_dim, p.z, p.rstd, dz, p.dh);
    }

    // ---- optimizers (src/*/optim.*), one parameter tensor per call; see fg_optimizer_params.
    // state2 is null for SGD. apply_decay selects weights (true) or biases (false).
    virtual void optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad,
                                  float* state1, float* state2, bool apply_decay) = 0;

    // ---- images to patches (src/*/patch.*)
    // images (B, H, W, Cin) -> out (B, P, D) with P = grid^2 patches of ph = H/grid by pw = W/grid
    // pixels, D = ph*pw*Cin in (h, w, c) order: out[b, py*grid+px, (i*pw+j)*Cin+c] = img[b, py*ph+i, px*pw+j, c].
    virtual void patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid,
                          const float* images, float* out) = 0;

    // ---- random tangents (src/*/random.*): see fg_random_normal in forwardgrad.h. out[i] is element first + i
    // of the stream (seed, step, tensor_id).
    virtual void random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id,
                               uint64_t first) = 0;

    // A (K, rows, width) noise tensor at the stream positions `where` gives.
    void draw_noise(float* u, int64_t tangents, int64_t rows, int64_t width, uint64_t seed, uint32_t step,
                    uint32_t noise_id, const NoiseRows& where) {
        if (where.total == 0 && where.first == 0) {
            random_normal(u, static_cast<uint64_t>(tangents * rows * width), seed, step, noise_id, 0);
            return;
        }
        for (int64_t k = 0; k < tangents; ++k)
            random_normal(u + k * rows * width, static_cast<uint64_t>(rows * width), seed, step, noise_id,
                          where.begin(k, rows, width));
    }
};

}  // namespace fg
