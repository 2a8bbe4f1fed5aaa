// Reductions and broadcasts over an (outer, mid, inner) view, on the backend's stream.
// sum_mid is deterministic (no atomics): one block owns each output element (or 32 of them).
#include "cuda_backend.h"

namespace fg {

namespace {

// y[o, j, i] += bias[j]; grid-stride over all outer*mid*inner elements.
__global__ void add_bias_kernel(int64_t total, int64_t mid, int64_t inner, float* y, const float* bias) {
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x)
        y[t] += bias[(t / inner) % mid];
}

// out[o, j, i] = scale * v[o, i]
__global__ void broadcast_mid_kernel(int64_t total, int64_t mid, int64_t inner, const float* v, float scale,
                                     float* out) {
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t o = t / (mid * inner), i = t % inner;
        out[t] = scale * v[o * inner + i];
    }
}

constexpr int kTile = 32;

// inner == 1: x is (outer, mid). Block (32, 32) owns 32 adjacent columns; threadIdx.x walks the
// columns (coalesced), threadIdx.y strides over rows; then the 32 partials per column are summed.
__global__ void sum_columns_kernel(int64_t outer, int64_t mid, const float* x, float scale, float* out,
                                   bool accumulate) {
    __shared__ float part[kTile][kTile + 1];
    const int64_t j = blockIdx.x * (int64_t)kTile + threadIdx.x;
    float s = 0.0f;
    if (j < mid)
        for (int64_t o = threadIdx.y; o < outer; o += kTile) s += x[o * mid + j];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < mid) {
        float total = 0.0f;
        for (int r = 0; r < kTile; ++r) total += part[r][threadIdx.x];
        out[j] = (accumulate ? out[j] : 0.0f) + scale * total;
    }
}

constexpr int kReduceThreads = 256;

// inner > 1: one block per j sums the outer*inner elements x[o, j, :] (contiguous runs of inner).
__global__ void sum_mid_kernel(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                               bool accumulate) {
    const int64_t j = blockIdx.x;
    const int64_t count = outer * inner;
    float s = 0.0f;
    for (int64_t t = threadIdx.x; t < count; t += kReduceThreads) {
        const int64_t o = t / inner, i = t % inner;
        s += x[(o * mid + j) * inner + i];
    }
    for (int offset = 16; offset > 0; offset >>= 1) s += __shfl_down_sync(0xffffffffu, s, offset);
    __shared__ float warp_sums[kReduceThreads / 32];
    if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int w = 0; w < kReduceThreads / 32; ++w) total += warp_sums[w];
        out[j] = (accumulate ? out[j] : 0.0f) + scale * total;
    }
}

}  // namespace

void CudaBackend::add_bias(int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias) {
    const int64_t total = outer * mid * inner;
    if (total <= 0) return;
    add_bias_kernel<<<grid_for(total), 256, 0, stream_>>>(total, mid, inner, y, bias);
    FG_CUDA_LAUNCH_CHECK("add_bias_kernel");
}

void CudaBackend::sum_mid(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                          bool accumulate) {
    if (mid <= 0) return;
    if (inner == 1) {
        const dim3 block(kTile, kTile);
        const unsigned grid = static_cast<unsigned>((mid + kTile - 1) / kTile);
        sum_columns_kernel<<<grid, block, 0, stream_>>>(outer, mid, x, scale, out, accumulate);
        FG_CUDA_LAUNCH_CHECK("sum_columns_kernel");
        return;
    }
    sum_mid_kernel<<<static_cast<unsigned>(mid), kReduceThreads, 0, stream_>>>(outer, mid, inner, x, scale, out,
                                                                                accumulate);
    FG_CUDA_LAUNCH_CHECK("sum_mid_kernel");
}

void CudaBackend::broadcast_mid(int64_t outer, int64_t mid, int64_t inner, const float* v, float scale, float* out) {
    const int64_t total = outer * mid * inner;
    if (total <= 0) return;
    broadcast_mid_kernel<<<grid_for(total), 256, 0, stream_>>>(total, mid, inner, v, scale, out);
    FG_CUDA_LAUNCH_CHECK("broadcast_mid_kernel");
}

}  // namespace fg
