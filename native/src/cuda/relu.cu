// Perturbed ReLU: A = relu(Z + Res), Adot_k = [A > 0] * (Zdot_k + U_k + Resdot_k).
// One fused pass: each thread owns element i of the primal and of every tangent, so the mask is
// computed once and the K tangent rows are read and written coalesced.
#include "cuda_backend.h"

namespace fg {

namespace {

// z, residual, a (count); zdot, u, residual_dot, adot (K, count); optional inputs are null.
// adot may alias zdot: element i of each is read before it is written, by the same thread.
template <class I>
__global__ void relu_jvp_kernel(I count, I tangents, const float* __restrict__ z,
                                const float* __restrict__ residual, const float* zdot, const float* __restrict__ u,
                                const float* __restrict__ residual_dot, float* __restrict__ a, float* adot) {
    for (I i = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; i < count; i += static_cast<I>(gridDim.x) * blockDim.x) {
        const float pre = z[i] + (residual ? residual[i] : 0.0f);
        const float av = pre < 0.0f ? 0.0f : pre;
        a[i] = av;
        const bool on = av > 0.0f;
        for (I k = 0; k < tangents; ++k) {
            const I j = k * count + i;
            const float t = (zdot ? zdot[j] : 0.0f) + (u ? u[j] : 0.0f) + (residual_dot ? residual_dot[j] : 0.0f);
            adot[j] = on ? t : 0.0f;
        }
    }
}

// dz = [a > 0] * da; dz may alias da.
template <class I>
__global__ void relu_backward_kernel(I count, const float* __restrict__ a, const float* da, float* dz) {
    for (I i = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; i < count; i += static_cast<I>(gridDim.x) * blockDim.x)
        dz[i] = a[i] > 0.0f ? da[i] : 0.0f;
}

}  // namespace

void CudaBackend::relu_jvp(int64_t count, int64_t tangents, const float* z, const float* residual, const float* zdot,
                           const float* u, const float* residual_dot, float* a, float* adot) {
    if (count == 0) return;
    const DeviceGuard guard(device_);
    with_index_type(count * (tangents + 1), [&](auto index) {
        using I = decltype(index);
        relu_jvp_kernel<I><<<grid_for(count), 256, 0, stream_>>>(static_cast<I>(count), static_cast<I>(tangents), z,
                                                                 residual, zdot, u, residual_dot, a, adot);
    });
    FG_CUDA_LAUNCH_CHECK("relu_jvp_kernel");
}

void CudaBackend::relu_backward(int64_t count, const float* a, const float* da, float* dz) {
    if (count == 0) return;
    const DeviceGuard guard(device_);
    with_index_type(count, [&](auto index) {
        using I = decltype(index);
        relu_backward_kernel<I><<<grid_for(count), 256, 0, stream_>>>(static_cast<I>(count), a, da, dz);
    });
    FG_CUDA_LAUNCH_CHECK("relu_backward_kernel");
}

}  // namespace fg
