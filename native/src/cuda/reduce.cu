// Reductions and broadcasts over an (outer, mid, inner) view, on the backend's stream.
// sum_mid mirrors the CPU reference: every sum accumulates in double and out[j] gets
// float(scale * sum). It uses no atomics, and how the work is split depends only on the shape,
// so a result does not depend on timing. Three shapes of work:
//   inner == 1, mid > 1 columns: 32 adjacent outputs per block, threads read rows coalesced
//   outer*inner < 1024  a warp segment per output (a short sum per output, many outputs)
//   otherwise           a block per output, or per (output, slice of outer) for long sums
// Long sums run in two passes: per-slice partial sums (double) into scratch, then one thread per
// output adds its slices in order.
#include <algorithm>
#include <type_traits>

#include "cuda_backend.h"
#include "warp.cuh"

namespace fg {

namespace {

// y[o, j, i] += bias[j]
template <class I>
__global__ void add_bias_kernel(I total, I mid, I inner, float* y, const float* bias) {
    for (I t = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; t < total; t += static_cast<I>(gridDim.x) * blockDim.x)
        y[t] += bias[(t / inner) % mid];
}

// out[o, j, i] = scale * v[o, i]
template <class I>
__global__ void broadcast_mid_kernel(I total, I mid, I inner, const float* v, float scale, float* out) {
    const I row = mid * inner;
    for (I t = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; t < total; t += static_cast<I>(gridDim.x) * blockDim.x) {
        const I o = t / row, i = t % inner;
        out[t] = scale * v[o * inner + i];
    }
}

// The final value of output j from its double sum, as the CPU backend writes it.
__device__ __forceinline__ void finish_output(float* out, int64_t j, double sum, float scale, bool accumulate) {
    const float v = static_cast<float>(static_cast<double>(scale) * sum);
    out[j] = accumulate ? out[j] + v : v;
}

// Sum of `v` over the block (blockDim.x == kBlock, a multiple of 32) in a fixed order; valid in thread 0.
template <int kBlock>
__device__ double block_sum(double v) {
    __shared__ double warp_sums[kBlock / 32];
    v = segment_sum<32>(v);
    if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
    __syncthreads();
    double total = 0.0;
    if (threadIdx.x == 0)
        for (int w = 0; w < kBlock / 32; ++w) total += warp_sums[w];
    return total;
}

constexpr int kTile = 32;      // columns per block in the column kernels
constexpr int kTileRows = 8;   // threadIdx.y extent of the column kernels
constexpr int kBlock = 256;    // threads of the block-per-output kernel

// inner == 1: x is (outer, mid). Block (kTile, kTileRows) at (blockIdx.x, slice blockIdx.y) sums
// rows [slice*rows_per_slice, ...) of kTile adjacent columns. With one slice it writes out; with
// several it writes partial[slice * mid + j].
template <class I>
__global__ void sum_columns_kernel(I outer, I mid, I rows_per_slice, const float* __restrict__ x, float scale,
                                   float* out, bool accumulate, double* __restrict__ partial) {
    __shared__ double part[kTileRows][kTile + 1];
    const I j = blockIdx.x * static_cast<I>(kTile) + threadIdx.x;
    const I begin = blockIdx.y * rows_per_slice;
    const I end = min(outer, begin + rows_per_slice);
    double s = 0.0;
    if (j < mid)
        for (I o = begin + threadIdx.y; o < end; o += kTileRows) s += x[o * mid + j];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y != 0 || j >= mid) return;
    double total = 0.0;
    for (int r = 0; r < kTileRows; ++r) total += part[r][threadIdx.x];
    if (partial) partial[static_cast<int64_t>(blockIdx.y) * mid + j] = total;
    else finish_output(out, j, total, scale, accumulate);
}

// Short sums: a segment of W lanes per output j sums its outer*inner elements.
template <int W, class I>
__global__ void sum_mid_segments_kernel(I outer, I mid, I inner, const float* __restrict__ x, float scale, float* out,
                                        bool accumulate) {
    constexpr int kPerWarp = 32 / W;
    const I count = outer * inner;
    const I warps = static_cast<I>(gridDim.x) * (blockDim.x / 32);
    const int seg = (threadIdx.x % 32) / W, lane = threadIdx.x % W;
    // warp-uniform loop: every lane reaches every shuffle
    for (I wb = (blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x) / 32; wb * kPerWarp < mid; wb += warps) {
        const I j = wb * kPerWarp + seg;
        double s = 0.0;
        if (j < mid)
            for (I t = lane; t < count; t += W) {
                const I o = t / inner, i = t - o * inner;
                s += x[(o * mid + j) * inner + i];
            }
        s = segment_sum<W>(s);
        if (j < mid && lane == 0) finish_output(out, j, s, scale, accumulate);
    }
}

// Long sums: block (j = blockIdx.x, slice = blockIdx.y) sums the slice's `chunk` elements of
// x[:, j, :] (flattened (o, i) order; chunk is a whole number of rows unless mid == 1, where the
// elements are one contiguous run). With one slice it writes out; with several, partial[slice * mid + j].
template <class I>
__global__ void sum_mid_blocks_kernel(I outer, I mid, I inner, I chunk, const float* __restrict__ x, float scale,
                                      float* out, bool accumulate, double* __restrict__ partial) {
    const I j = blockIdx.x;
    const I count = outer * inner;
    const I begin = blockIdx.y * chunk;
    const I end = min(count, begin + chunk);
    double s = 0.0;
    if (mid == 1) {
        for (I t = begin + threadIdx.x; t < end; t += kBlock) s += x[t];
    } else if (inner >= kBlock) {  // row by row: no division per element, contiguous reads
        for (I o = begin / inner; o < end / inner; ++o) {
            const float* row = x + (o * mid + j) * inner;
            for (I i = threadIdx.x; i < inner; i += kBlock) s += row[i];
        }
    } else {
        for (I t = begin + threadIdx.x; t < end; t += kBlock) {
            const I o = t / inner, i = t - o * inner;
            s += x[(o * mid + j) * inner + i];
        }
    }
    const double total = block_sum<kBlock>(s);
    if (threadIdx.x != 0) return;
    if (partial) partial[static_cast<int64_t>(blockIdx.y) * mid + j] = total;
    else finish_output(out, j, total, scale, accumulate);
}

// Second pass: out[j] from partial[0..slices)[j], added in slice order.
__global__ void sum_partials_kernel(int64_t slices, int64_t mid, const double* __restrict__ partial, float scale,
                                    float* out, bool accumulate) {
    for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < mid;
         j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        double s = 0.0;
        for (int64_t k = 0; k < slices; ++k) s += partial[k * mid + j];
        finish_output(out, j, s, scale, accumulate);
    }
}

// Enough blocks to fill an H100 (132 SMs) a few times over; a shape constant, not a device query,
// so the split (and with it every result) is the same on every GPU.
constexpr int64_t kTargetBlocks = 1024;
constexpr int64_t kMinRowsPerColumnSlice = 64;
constexpr int64_t kMinElementsPerSlice = 8192;
constexpr int64_t kShortSum = 1024;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

void CudaBackend::add_bias(int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias) {
    const int64_t total = outer * mid * inner;
    if (total <= 0) return;
    const DeviceGuard guard(device_);
    with_index_type(total, [&](auto index) {
        using I = decltype(index);
        add_bias_kernel<I><<<grid_for(total), 256, 0, stream_>>>(static_cast<I>(total), static_cast<I>(mid),
                                                                 static_cast<I>(inner), y, bias);
    });
    FG_CUDA_LAUNCH_CHECK("add_bias_kernel");
}

void CudaBackend::sum_mid(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                          bool accumulate) {
    if (mid <= 0) return;
    const DeviceGuard guard(device_);
    sum_mid_on_stream(outer, mid, inner, x, scale, out, accumulate);
}

void CudaBackend::sum_mid_on_stream(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale,
                                    float* out, bool accumulate) {
    if (mid <= 0) return;
    if (outer * inner == 0) {  // empty sums: out = (accumulate ? out : 0) + 0
        if (!accumulate) fill(out, static_cast<size_t>(mid), 0.0f);
        return;
    }
    const int64_t extent = outer * mid * inner;
    with_index_type(extent, [&](auto index) {
        using I = decltype(index);
        if (inner == 1 && mid > 1) {
            const int64_t tiles = ceil_div(mid, kTile);
            const int64_t slices =
                std::max<int64_t>(1, std::min(ceil_div(outer, kMinRowsPerColumnSlice), ceil_div(kTargetBlocks, tiles)));
            const int64_t rows_per_slice = ceil_div(outer, slices);
            const int64_t used = ceil_div(outer, rows_per_slice);
            double* partial = used > 1 ? static_cast<double*>(scratch(kReducePartials, used * mid * sizeof(double)))
                                       : nullptr;
            sum_columns_kernel<I><<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(used)),
                                    dim3(kTile, kTileRows), 0, stream_>>>(
                static_cast<I>(outer), static_cast<I>(mid), static_cast<I>(rows_per_slice), x, scale, out, accumulate,
                partial);
            FG_CUDA_LAUNCH_CHECK("sum_columns_kernel");
            if (partial) {
                sum_partials_kernel<<<grid_for(mid), 256, 0, stream_>>>(used, mid, partial, scale, out, accumulate);
                FG_CUDA_LAUNCH_CHECK("sum_partials_kernel");
            }
            return;
        }
        const int64_t count = outer * inner;
        if (count < kShortSum) {
            with_segment_width(count, [&](auto w) {
                constexpr int W = decltype(w)::value;
                sum_mid_segments_kernel<W, I><<<grid_for(mid, 256 / W), 256, 0, stream_>>>(
                    static_cast<I>(outer), static_cast<I>(mid), static_cast<I>(inner), x, scale, out, accumulate);
            });
            FG_CUDA_LAUNCH_CHECK("sum_mid_segments_kernel");
            return;
        }
        // Slices of whole rows, or (mid == 1: one contiguous run) of kBlock-aligned element ranges.
        const int64_t slices = std::max<int64_t>(
            1, std::min({mid == 1 ? count : outer, ceil_div(count, kMinElementsPerSlice), ceil_div(kTargetBlocks, mid),
                         int64_t{65535}}));
        const int64_t chunk = mid == 1 ? ceil_div(ceil_div(count, slices), kBlock) * kBlock
                                       : ceil_div(outer, slices) * inner;
        const int64_t used = ceil_div(count, chunk);
        double* partial =
            used > 1 ? static_cast<double*>(scratch(kReducePartials, used * mid * sizeof(double))) : nullptr;
        sum_mid_blocks_kernel<I><<<dim3(static_cast<unsigned>(mid), static_cast<unsigned>(used)), kBlock, 0, stream_>>>(
            static_cast<I>(outer), static_cast<I>(mid), static_cast<I>(inner), static_cast<I>(chunk), x, scale,
            out, accumulate, partial);
        FG_CUDA_LAUNCH_CHECK("sum_mid_blocks_kernel");
        if (partial) {
            sum_partials_kernel<<<grid_for(mid), 256, 0, stream_>>>(used, mid, partial, scale, out, accumulate);
            FG_CUDA_LAUNCH_CHECK("sum_partials_kernel");
        }
    });
}

void CudaBackend::broadcast_mid(int64_t outer, int64_t mid, int64_t inner, const float* v, float scale, float* out) {
    const int64_t total = outer * mid * inner;
    if (total <= 0) return;
    const DeviceGuard guard(device_);
    with_index_type(total, [&](auto index) {
        using I = decltype(index);
        broadcast_mid_kernel<I><<<grid_for(total), 256, 0, stream_>>>(static_cast<I>(total), static_cast<I>(mid),
                                                                      static_cast<I>(inner), v, scale, out);
    });
    FG_CUDA_LAUNCH_CHECK("broadcast_mid_kernel");
}

}  // namespace fg
