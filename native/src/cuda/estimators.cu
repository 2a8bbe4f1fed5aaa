// CUDA gradient estimators, one thread per output element. The scalar each element multiplies its
// tangent with is reduced from d once, by its own kernels, into the backend's scratch (PATCH and
// GLOBAL modes of fga_scale, the row sums of fgw_grad), so the per-element passes read one value per
// tangent. The arithmetic mirrors the CPU reference (cpu/estimators.cpp): the reductions in double,
// the per-element sum over tangents in float, in tangent order.
#include "cuda_backend.h"

namespace fg {

namespace {

// gz[r, c] = [act > 0] * inv_k * sum_k scales[(k * units + r / rows_per_unit) * per_unit + c / width] * u[k, r, c]
//   u (K, R, C), act (R, C), gz (R, C). GROUP: units R, per_unit G, width C/G; PATCH: units R,
//   per_unit 1, width C; GLOBAL: units B, rows_per_unit P, per_unit 1, width C.
template <class I>
__global__ void fga_scale_kernel(I tangents, I rows, I channels, I rows_per_unit, I units, I per_unit, I width,
                                 const float* __restrict__ u, const float* __restrict__ act,
                                 const float* __restrict__ scales, float inv_k, float* __restrict__ gz) {
    const I total = rows * channels;
    for (I idx = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; idx < total;
         idx += static_cast<I>(gridDim.x) * blockDim.x) {
        const I r = idx / channels, c = idx - r * channels;
        const I unit = r / rows_per_unit, slot = c / width;
        float acc = 0.0f;
        for (I k = 0; k < tangents; ++k) acc += scales[(k * units + unit) * per_unit + slot] * u[k * total + idx];
        // A select, not a product: an inactive unit gives exactly 0 even when u*d is not finite.
        gz[idx] = act[idx] > 0.0f ? acc * inv_k : 0.0f;
    }
}

// scale[k, g] = float(totals[k, g] / K), or with FG_WSLICE_ALL float(sum_g totals[k, g] / K) for every g.
__global__ void fgw_scales_kernel(int32_t slice_mode, int64_t groups, int64_t tangents, const float* totals,
                                  double inv_k, float* scale) {
    for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < tangents;
         k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float* t = totals + k * groups;
        float* s = scale + k * groups;
        if (slice_mode == FG_WSLICE_ALL) {
            double all = 0.0;
            for (int64_t g = 0; g < groups; ++g) all += t[g];
            for (int64_t g = 0; g < groups; ++g) s[g] = static_cast<float>(all * inv_k);
        } else {
            for (int64_t g = 0; g < groups; ++g) s[g] = static_cast<float>(static_cast<double>(t[g]) * inv_k);
        }
    }
}

// grad[e] (+)= sum_k scale[k, group(e)] * v[k, e]; v (K, count), scale (K, G).
template <class I>
__global__ void fgw_grad_kernel(int32_t slice_mode, I count, I cols, I groups, I tangents, const float* __restrict__ v,
                                const float* __restrict__ scale, float* grad, bool accumulate) {
    const I slice = count / groups, width = cols / groups;
    for (I e = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; e < count; e += static_cast<I>(gridDim.x) * blockDim.x) {
        I g = 0;
        if (slice_mode == FG_WSLICE_LEADING) g = e / slice;
        if (slice_mode == FG_WSLICE_COLUMNS) g = (e % cols) / width;
        float acc = accumulate ? grad[e] : 0.0f;
        for (I k = 0; k < tangents; ++k) acc += scale[k * groups + g] * v[k * count + e];
        grad[e] = acc;
    }
}

}  // namespace

void CudaBackend::fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                            int64_t groups, const float* u, const float* act, const float* d, float* gz) {
    const int64_t rows = batch * patches, total = rows * channels;
    if (total == 0) return;
    const DeviceGuard guard(device_);
    const float* scales = d;
    int64_t rows_per_unit = 1, units = rows, per_unit = groups, width = channels / groups;
    if (mode != FG_SCALE_GROUP) {
        // PATCH: s[k, r] = sum_g d[k, r, g]; GLOBAL: s[k, n] = sum_{p, g} d[k, n, p, g]
        units = mode == FG_SCALE_PATCH ? rows : batch;
        rows_per_unit = mode == FG_SCALE_PATCH ? 1 : patches;
        float* reduced = static_cast<float*>(scratch(kEstimatorScales, tangents * units * sizeof(float)));
        sum_mid_on_stream(1, tangents * units, rows_per_unit * groups, d, 1.0f, reduced, false);
        scales = reduced;
        per_unit = 1;
        width = channels;
    }
    const float inv_k = static_cast<float>(1.0 / static_cast<double>(tangents));
    with_index_type(tangents * total, [&](auto index) {
        using I = decltype(index);
        fga_scale_kernel<I><<<grid_for(total), 256, 0, stream_>>>(
            static_cast<I>(tangents), static_cast<I>(rows), static_cast<I>(channels), static_cast<I>(rows_per_unit),
            static_cast<I>(units), static_cast<I>(per_unit), static_cast<I>(width), u, act, scales, inv_k, gz);
    });
    FG_CUDA_LAUNCH_CHECK("fga_scale_kernel");
}

void CudaBackend::fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                           int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) {
    if (count == 0) return;
    const DeviceGuard guard(device_);
    // totals[k, g] = sum_r d[k, r, g], then the per-(k, g) multipliers, both in the scratch slot.
    const size_t kg = static_cast<size_t>(tangents * groups);
    float* totals = static_cast<float*>(scratch(kEstimatorScales, 2 * kg * sizeof(float)));
    float* scale = totals + kg;
    const float* per_group = d;
    if (rows > 1) {
        for (int64_t k = 0; k < tangents; ++k)
            sum_mid_on_stream(rows, groups, 1, d + k * rows * groups, 1.0f, totals + k * groups, false);
        per_group = totals;
    }
    fgw_scales_kernel<<<grid_for(tangents), 256, 0, stream_>>>(slice_mode, groups, tangents, per_group,
                                                               1.0 / static_cast<double>(tangents), scale);
    FG_CUDA_LAUNCH_CHECK("fgw_scales_kernel");
    with_index_type(tangents * count, [&](auto index) {
        using I = decltype(index);
        fgw_grad_kernel<I><<<grid_for(count), 256, 0, stream_>>>(slice_mode, static_cast<I>(count),
                                                                 static_cast<I>(cols), static_cast<I>(groups),
                                                                 static_cast<I>(tangents), v, scale, grad, accumulate);
    });
    FG_CUDA_LAUNCH_CHECK("fgw_grad_kernel");
}

}  // namespace fg
