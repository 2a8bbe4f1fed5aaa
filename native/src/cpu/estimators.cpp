// CPU gradient estimators: the FG-A pre-activation estimate (fga_scale) and the FG-W weight
// estimate (fgw_grad). Sums over tangents, rows and groups are kept in double.
#include <algorithm>

#include "cpu_backend.h"

namespace fg {

// gz[n,p,c] = (1/K) sum_k scale_k(n,p,c) * u[k,n,p,c] * [act[n,p,c] > 0]
//   u (K,B,P,C), act (B,P,C), d (K,B,P,G), gz (B,P,C).
void CpuBackend::fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                           int64_t groups, const float* u, const float* act, const float* d, float* gz) {
    const int64_t width = channels / groups, rows = batch * patches;
    const float inv_k = static_cast<float>(1.0 / static_cast<double>(tangents));
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t n = r / patches;
        float* out = gz + r * channels;
        const float* mask = act + r * channels;
        for (int64_t c = 0; c < channels; ++c) out[c] = 0.0f;
        for (int64_t k = 0; k < tangents; ++k) {
            const float* dk = d + (k * rows + r) * groups;  // d[k,n,p,:]
            const float* uk = u + (k * rows + r) * channels;
            double shared = 0.0;  // the one scalar of every unit in PATCH / GLOBAL mode
            if (mode == FG_SCALE_PATCH)
                for (int64_t g = 0; g < groups; ++g) shared += dk[g];
            if (mode == FG_SCALE_GLOBAL) {
                const float* dn = d + (k * rows + n * patches) * groups;  // d[k,n,:,:]
                for (int64_t i = 0; i < patches * groups; ++i) shared += dn[i];
            }
            for (int64_t g = 0; g < groups; ++g) {
                const float s = static_cast<float>(mode == FG_SCALE_GROUP ? double(dk[g]) : shared);
                for (int64_t c = g * width; c < (g + 1) * width; ++c) out[c] += s * uk[c];
            }
        }
        // A select, not a product: an inactive unit gives exactly 0 even when u*d is not finite.
        for (int64_t c = 0; c < channels; ++c) out[c] = mask[c] > 0.0f ? out[c] * inv_k : 0.0f;
    }
}

namespace {
double group_total(const float* dk, int64_t rows, int64_t groups, int64_t g) {
    double sum = 0.0;
    for (int64_t r = 0; r < rows; ++r) sum += dk[r * groups + g];
    return sum;
}
}  // namespace

// grad[e] (+)= (1/K) sum_k D_k(group(e)) * v[k,e], D_k(g) = sum_r d[k,r,g]; see fg_fgw_grad.
//   v (K, count), d (K, rows, G), grad (count).
void CpuBackend::fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                          int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) {
    if (!accumulate) std::fill(grad, grad + count, 0.0f);
    const double inv_k = 1.0 / static_cast<double>(tangents);
    for (int64_t k = 0; k < tangents; ++k) {
        const float* dk = d + k * rows * groups;
        const float* vk = v + k * count;
        if (slice_mode == FG_WSLICE_ALL) {
            double all = 0.0;
            for (int64_t g = 0; g < groups; ++g) all += group_total(dk, rows, groups, g);
            const float s = static_cast<float>(all * inv_k);
            for (int64_t e = 0; e < count; ++e) grad[e] += s * vk[e];
            continue;
        }
        for (int64_t g = 0; g < groups; ++g) {
            const float s = static_cast<float>(group_total(dk, rows, groups, g) * inv_k);
            if (slice_mode == FG_WSLICE_LEADING) {
                const int64_t slice = count / groups;  // elements [g*slice, (g+1)*slice)
                for (int64_t e = g * slice; e < (g + 1) * slice; ++e) grad[e] += s * vk[e];
            } else {
                const int64_t width = cols / groups;  // columns [g*width, (g+1)*width) of every row
                for (int64_t i = 0; i < count / cols; ++i)
                    for (int64_t j = g * width; j < (g + 1) * width; ++j) grad[i * cols + j] += s * vk[i * cols + j];
            }
        }
    }
}

}  // namespace fg
