// Row L2 normalisation and its VJP (one warp per row), matching the CPU reference: the sums in
// double, the same 1e-12 floor on the norm.
#include <cmath>

#include "cuda_backend.h"
#include "warp.cuh"

namespace fg {

namespace {

constexpr int kThreads = 256;
constexpr double kMinNorm = 1e-12;

// The row loop is warp-uniform so every lane reaches every shuffle.
__global__ void l2_normalize_kernel(int64_t rows, int64_t dim, const float* __restrict__ x, float* __restrict__ y,
                                    float* __restrict__ inv_norm) {
    const int lane = threadIdx.x % 32;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
    for (int64_t r = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; r < rows; r += warps) {
        const float* xr = x + r * dim;
        double sq = 0.0;
        for (int64_t i = lane; i < dim; i += 32) sq += static_cast<double>(xr[i]) * xr[i];
        sq = segment_sum<32>(sq);
        const float inv = static_cast<float>(1.0 / fmax(sqrt(sq), kMinNorm));
        for (int64_t i = lane; i < dim; i += 32) y[r * dim + i] = xr[i] * inv;
        if (lane == 0) inv_norm[r] = inv;
    }
}

__global__ void l2_normalize_vjp_kernel(int64_t rows, int64_t dim, const float* __restrict__ y,
                                        const float* __restrict__ inv_norm, const float* dy, float* dx) {
    const int lane = threadIdx.x % 32;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
    for (int64_t r = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; r < rows; r += warps) {
        const float* yr = y + r * dim;
        const float* dyr = dy + r * dim;
        double proj = 0.0;
        for (int64_t i = lane; i < dim; i += 32) proj += static_cast<double>(yr[i]) * dyr[i];
        const float p = static_cast<float>(segment_sum<32>(proj)), inv = inv_norm[r];
        // dx may alias dy: each lane reads its own elements before writing them.
        for (int64_t i = lane; i < dim; i += 32) dx[r * dim + i] = inv * (dyr[i] - yr[i] * p);
    }
}

}  // namespace

void CudaBackend::l2_normalize(int64_t rows, int64_t dim, const float* x, float* y, float* inv_norm) {
    if (rows == 0) return;
    const DeviceGuard guard(device_);
    l2_normalize_kernel<<<grid_for(rows, kThreads / 32), kThreads, 0, stream_>>>(rows, dim, x, y, inv_norm);
    FG_CUDA_LAUNCH_CHECK("l2_normalize_kernel");
}

void CudaBackend::l2_normalize_vjp(int64_t rows, int64_t dim, const float* y, const float* inv_norm, const float* dy,
                                   float* dx) {
    if (rows == 0) return;
    const DeviceGuard guard(device_);
    l2_normalize_vjp_kernel<<<grid_for(rows, kThreads / 32), kThreads, 0, stream_>>>(rows, dim, y, inv_norm, dy, dx);
    FG_CUDA_LAUNCH_CHECK("l2_normalize_vjp_kernel");
}

}  // namespace fg
