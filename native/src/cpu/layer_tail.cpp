// The fused layer tails on the CPU (Backend::norm_relu_jvp, Backend::fga_norm_vjp, Backend::relu_norm_vjp): a
// layer's bias, LN, its JVP, the activity noise, the perturbed ReLU (forward), or the noise, the FG-A scaling
// and the LN VJP (estimate), or the ReLU's and the LN's backward (backprop), run over a few rows at a time
// while they sit in cache, instead of one pass over all of memory per primitive. The noise is drawn where it
// is used: kept for the estimate when the mixer gives it room (NormReluJvp::noise_out), else drawn again
// there. Every value is the one the primitives give (same row kernels, row_kernels.h, the same adds, and the
// same normals, bit for bit).
#include <algorithm>
#include <vector>

#include "cpu_backend.h"
#include "row_kernels.h"
#include "thread_scratch.h"

namespace fg {

namespace {

// Rows per block: a block of a (rows, width) matrix spans about 2048 floats, one chunk of the noise stream
// (random.cpp), so blocks of aligned rows draw whole chunks.
int64_t block_rows(int64_t width) { return std::max<int64_t>(1, 2048 / std::max<int64_t>(width, 1)); }

struct BlockNoiseTag;  // a block's noise (cpu::thread_scratch)
struct BlockBiasTag;   // a block of h with its bias added
float* thread_buffer(size_t floats) { return cpu::thread_scratch<BlockNoiseTag>(floats); }

}  // namespace

void CpuBackend::norm_relu_jvp(const NormReluJvp& p, float* noise_scratch) {
    if (!fused_tails_) return Backend::norm_relu_jvp(p, noise_scratch);
    const int64_t R = p.rows, m = p.width, K = p.tangents, dim = p.ln_dim, per_row = p.ln_rows / p.rows;
    const uint64_t count = static_cast<uint64_t>(R * m);
    const int64_t rb = block_rows(m);
    const NormReluJvp q = p;
    for_range((R + rb - 1) / rb, std::max<int64_t>(1, cpu::row_grain(m) / rb), [=](int64_t b0, int64_t b1) {
        float* block_noise = q.noise && K > 0 && !q.noise_out ? thread_buffer(static_cast<size_t>(rb * m)) : nullptr;
        float* biased = q.bias ? cpu::thread_scratch<BlockBiasTag>(static_cast<size_t>(rb * m)) : nullptr;
        for (int64_t blk = b0; blk < b1; ++blk) {
            const int64_t r0 = blk * rb, r1 = std::min(R, r0 + rb), n = (r1 - r0) * m, e0 = r0 * m;
            // h + bias for the block (the very add add_bias would make), in cache for the LN's passes
            const float* h = q.h + e0;
            if (biased) {
                for (int64_t r = r0; r < r1; ++r) {
                    const float* hr = q.h + r * m;
                    float* out = biased + (r - r0) * m;
                    if (q.bias_period > 0) {
                        const float b = q.bias[r % q.bias_period];
                        for (int64_t c = 0; c < m; ++c) out[c] = hr[c] + b;
                    } else {
                        for (int64_t c = 0; c < m; ++c) out[c] = hr[c] + q.bias[c];
                    }
                }
                h = biased;
            }
            const int64_t l0 = r0 * per_row, nl = (r1 - r0) * per_row;  // the block's LN rows
            cpu::ln_forward_rows(nl, dim, h, q.z + l0 * dim, q.mean + l0, q.rstd + l0);
            const float* z = q.z + e0;
            const float* res = q.residual ? q.residual + e0 : nullptr;
            float* a = q.a + e0;
            cpu::relu_range(n, z, res, a);
            for (int64_t k = 0; k < K; ++k) {
                float* t = q.t + k * count + e0;
                const float* rd = q.residual_dot ? q.residual_dot + k * count + e0 : nullptr;
                if (q.h_tangents) cpu::ln_project_rows(nl, dim, q.z + l0 * dim, q.rstd + l0, t, t);
                // the noise where it is kept, else in a block-sized buffer that is used at once
                float* u = q.noise && K > 0 ? (q.noise_out ? q.noise_out + k * count + e0 : block_noise) : nullptr;
                if (u)
                    cpu::normals_range(u, q.noise_rows.begin(k, R, m) + e0, n, q.noise_rows.length(K, R, m), q.seed,
                                       q.step, q.noise_id);
                cpu::relu_tangent_range(n, a, q.h_tangents ? t : nullptr, u, rd, t);
            }
        }
    });
}

void CpuBackend::fga_norm_vjp(const FgaNormVjp& p, float* noise_scratch) {
    if (!fused_tails_) return Backend::fga_norm_vjp(p, noise_scratch);
    const int64_t R = p.batch * p.patches, m = p.width, K = p.tangents, dim = p.ln_dim, per_row = p.ln_rows / R;
    const uint64_t count = static_cast<uint64_t>(R * m);
    const int64_t rb = block_rows(m);
    const FgaNormVjp q = p;
    for_range((R + rb - 1) / rb, std::max<int64_t>(1, cpu::row_grain(m) / rb), [=](int64_t b0, int64_t b1) {
        // Tangent k's noise for the block: in the kept noise (stride count), or drawn again into a block buffer.
        float* drawn = q.noise_in ? nullptr : thread_buffer(static_cast<size_t>(K * rb * m));
        for (int64_t blk = b0; blk < b1; ++blk) {
            const int64_t r0 = blk * rb, r1 = std::min(R, r0 + rb), n = (r1 - r0) * m;
            const float* u = q.noise_in ? q.noise_in + r0 * m : drawn;
            const int64_t u_stride = q.noise_in ? static_cast<int64_t>(count) : rb * m;
            if (drawn)
                for (int64_t k = 0; k < K; ++k)
                    cpu::normals_range(drawn + k * rb * m, q.noise_rows.begin(k, R, m) + r0 * m, n,
                                       q.noise_rows.length(K, R, m), q.seed, q.step, q.noise_id);
            for (int64_t r = r0; r < r1; ++r)
                cpu::fga_scale_row(q.mode, K, r, R, q.patches, m, q.groups, u + (r - r0) * m, u_stride, q.a + r * m,
                                   q.d, q.gz + r * m);
            const int64_t l0 = r0 * per_row, nl = (r1 - r0) * per_row;
            cpu::ln_project_rows(nl, dim, q.z + l0 * dim, q.rstd + l0, q.gz + l0 * dim, q.gz + l0 * dim);
        }
    });
}

void CpuBackend::relu_norm_vjp(const ReluNormVjp& p) {
    if (!fused_tails_) return Backend::relu_norm_vjp(p);
    const int64_t R = p.rows, m = p.width, dim = p.ln_dim, per_row = p.ln_rows / p.rows;
    const int64_t rb = block_rows(m);
    const ReluNormVjp q = p;
    for_range((R + rb - 1) / rb, std::max<int64_t>(1, cpu::row_grain(m) / rb), [=](int64_t b0, int64_t b1) {
        for (int64_t blk = b0; blk < b1; ++blk) {
            const int64_t r0 = blk * rb, r1 = std::min(R, r0 + rb), e0 = r0 * m, n = (r1 - r0) * m;
            float* dz = (q.masked ? q.masked : q.dh) + e0;
            cpu::relu_backward_range(n, q.mask + e0, q.dy + e0, dz);
            const int64_t l0 = r0 * per_row, nl = (r1 - r0) * per_row;
            cpu::ln_project_rows(nl, dim, q.z + l0 * dim, q.rstd + l0, dz, q.dh + l0 * dim);
        }
    });
}

}  // namespace fg
