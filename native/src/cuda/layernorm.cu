// LayerNorm without affine parameters over the last axis, eps = FG_LN_EPS.
// One row per warp segment: rows of width >= 32 get a whole warp, narrower rows (per-group LN
// with small groups) share a warp in aligned segments of W = next_pow2(dim) lanes, so no lane
// idles on a 4-wide row. Reductions are warp shuffles; no shared memory, no __syncthreads.
#include <type_traits>

#include "cuda_backend.h"
#include "warp.cuh"

namespace fg {

namespace {

constexpr int kThreads = 256;

// Blocks for `units` rows at kThreads / W rows per block; kernels grid-stride past the cap.
unsigned blocks_for(int64_t units, int w) { return grid_for(units, kThreads / w); }

// The row this segment handles in the current iteration of a warp-uniform grid-stride loop:
// every lane of a warp runs the same number of iterations, so the shuffles never diverge.
struct SegmentLoop {
    int64_t warp, warps, seg, lane, per_warp;
    template <int W>
    __device__ static SegmentLoop make() {
        SegmentLoop s;
        s.per_warp = 32 / W;
        s.warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
        s.warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
        s.seg = (threadIdx.x % 32) / W;
        s.lane = threadIdx.x % W;
        return s;
    }
};

// x, y (rows, dim); mean, rstd (rows). Two passes over the row: mean, then variance around it.
// Sums and the normalisation in double, as the CPU reference: a row with a large mean keeps its
// small variance exactly enough.
template <int W>
__global__ void ln_forward_kernel(int64_t rows, int64_t dim, const float* __restrict__ x, float* __restrict__ y,
                                  float* __restrict__ mean, float* __restrict__ rstd) {
    const SegmentLoop s = SegmentLoop::make<W>();
    for (int64_t wb = s.warp; wb * s.per_warp < rows; wb += s.warps) {
        const int64_t r = wb * s.per_warp + s.seg;
        const bool active = r < rows;
        const float* xr = x + (active ? r : 0) * dim;
        double sum = 0.0;
        if (active)
            for (int64_t i = s.lane; i < dim; i += W) sum += xr[i];
        const double mu = segment_sum<W>(sum) / static_cast<double>(dim);
        double sq = 0.0;
        if (active)
            for (int64_t i = s.lane; i < dim; i += W) {
                const double c = static_cast<double>(xr[i]) - mu;
                sq += c * c;
            }
        const double var = segment_sum<W>(sq) / static_cast<double>(dim);
        const double rs = 1.0 / sqrt(var + static_cast<double>(FG_LN_EPS));
        if (!active) continue;
        float* yr = y + r * dim;
        for (int64_t i = s.lane; i < dim; i += W) yr[i] = static_cast<float>((static_cast<double>(xr[i]) - mu) * rs);
        if (s.lane == 0) {
            mean[r] = static_cast<float>(mu);
            rstd[r] = static_cast<float>(rs);
        }
    }
}

// out_u = rstd * (in_u - a - y * b), a = mean(in_u), b = mean(y * in_u) (both summed in double,
// then rounded to float as the CPU reference does), for units u < K*rows, unit u using row
// u % rows of y and rstd. JVP (K tangents) and VJP (K = 1) alike; out may alias in.
template <int W>
__global__ void ln_project_kernel(int64_t units, int64_t rows, int64_t dim, const float* __restrict__ y,
                                  const float* __restrict__ rstd, const float* in, float* out) {
    const SegmentLoop s = SegmentLoop::make<W>();
    for (int64_t wb = s.warp; wb * s.per_warp < units; wb += s.warps) {
        const int64_t u = wb * s.per_warp + s.seg;
        const bool active = u < units;
        const int64_t r = active ? u % rows : 0;
        const float* yr = y + r * dim;
        const float* ir = in + (active ? u : 0) * dim;
        double sum = 0.0, ysum = 0.0;
        if (active)
            for (int64_t i = s.lane; i < dim; i += W) {
                const double t = ir[i];
                sum += t;
                ysum += static_cast<double>(yr[i]) * t;
            }
        const float a = static_cast<float>(segment_sum<W>(sum) / static_cast<double>(dim));
        const float b = static_cast<float>(segment_sum<W>(ysum) / static_cast<double>(dim));
        if (!active) continue;
        const float rs = rstd[r];
        float* orow = out + u * dim;
        for (int64_t i = s.lane; i < dim; i += W) orow[i] = rs * (ir[i] - a - yr[i] * b);
    }
}

}  // namespace

void CudaBackend::layernorm_forward(int64_t rows, int64_t dim, const float* x, float* y, float* mean, float* rstd) {
    if (rows == 0) return;
    const DeviceGuard guard(device_);
    with_segment_width(dim, [&](auto w) {
        constexpr int W = decltype(w)::value;
        ln_forward_kernel<W><<<blocks_for(rows, W), kThreads, 0, stream_>>>(rows, dim, x, y, mean, rstd);
    });
    FG_CUDA_LAUNCH_CHECK("ln_forward_kernel");
}

void CudaBackend::layernorm_jvp(int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd,
                                const float* xdot, float* ydot) {
    if (tangents == 0 || rows == 0) return;
    const DeviceGuard guard(device_);
    with_segment_width(dim, [&](auto w) {
        constexpr int W = decltype(w)::value;
        ln_project_kernel<W><<<blocks_for(tangents * rows, W), kThreads, 0, stream_>>>(tangents * rows, rows, dim,
                                                                                         y, rstd, xdot, ydot);
    });
    FG_CUDA_LAUNCH_CHECK("ln_project_kernel (jvp)");
}

void CudaBackend::layernorm_vjp(int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy,
                                float* dx) {
    if (rows == 0) return;
    const DeviceGuard guard(device_);
    with_segment_width(dim, [&](auto w) {
        constexpr int W = decltype(w)::value;
        ln_project_kernel<W><<<blocks_for(rows, W), kThreads, 0, stream_>>>(rows, rows, dim, y, rstd, dy, dx);
    });
    FG_CUDA_LAUNCH_CHECK("ln_project_kernel (vjp)");
}

}  // namespace fg
