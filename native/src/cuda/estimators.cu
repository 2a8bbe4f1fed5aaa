// CUDA gradient estimators, one thread per output element. The scalar each element needs is read
// straight from d; fg_fga_weight_grad / fg_fgw_grad pre-reduce d (PATCH/GLOBAL modes, rows) so that
// this is a single load per tangent in the hot path.
#include "cuda_backend.h"

namespace fg {

namespace {

// sum of n floats spaced `stride` apart
__device__ float strided_sum(const float* x, int64_t n, int64_t stride) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += x[i * stride];
    return s;
}

// u (K,B,P,C), act (B,P,C), d (K,B,P,G) -> gz (B,P,C)
__global__ void fga_scale_kernel(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                                 int64_t groups, const float* u, const float* act, const float* d, float* gz) {
    const int64_t rows = batch * patches, total = rows * channels, width = channels / groups;
    for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
         idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t r = idx / channels, c = idx - r * channels, n = r / patches;
        float acc = 0.0f;
        for (int64_t k = 0; k < tangents; ++k) {
            float s;
            if (mode == FG_SCALE_GROUP)
                s = d[(k * rows + r) * groups + c / width];
            else if (mode == FG_SCALE_PATCH)
                s = strided_sum(d + (k * rows + r) * groups, groups, 1);
            else
                s = strided_sum(d + (k * rows + n * patches) * groups, patches * groups, 1);
            acc += s * u[k * total + idx];
        }
        // A select, not a product: an inactive unit gives exactly 0 even when u*d is not finite.
        gz[idx] = act[idx] > 0.0f ? acc / static_cast<float>(tangents) : 0.0f;
    }
}

// v (K, count), d (K, rows, G) -> grad (count)
__global__ void fgw_grad_kernel(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                                int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) {
    for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < count;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t g = 0;
        if (slice_mode == FG_WSLICE_LEADING) g = e / (count / groups);
        if (slice_mode == FG_WSLICE_COLUMNS) g = (e % cols) / (cols / groups);
        float acc = 0.0f;
        for (int64_t k = 0; k < tangents; ++k) {
            const float* dk = d + k * rows * groups;
            const float s = slice_mode == FG_WSLICE_ALL ? strided_sum(dk, rows * groups, 1)
                                                        : strided_sum(dk + g, rows, groups);
            acc += s * v[k * count + e];
        }
        acc /= static_cast<float>(tangents);
        grad[e] = accumulate ? grad[e] + acc : acc;
    }
}

}  // namespace

void CudaBackend::fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                            int64_t groups, const float* u, const float* act, const float* d, float* gz) {
    const int64_t total = batch * patches * channels;
    if (total == 0) return;
    fga_scale_kernel<<<grid_for(total), 256, 0, stream_>>>(mode, tangents, batch, patches, channels, groups, u, act,
                                                            d, gz);
    FG_CUDA_LAUNCH_CHECK("fga_scale_kernel");
}

void CudaBackend::fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                           int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) {
    if (count == 0) return;
    fgw_grad_kernel<<<grid_for(count), 256, 0, stream_>>>(slice_mode, count, cols, groups, rows, tangents, v, d, grad,
                                                           accumulate);
    FG_CUDA_LAUNCH_CHECK("fgw_grad_kernel");
}

}  // namespace fg
