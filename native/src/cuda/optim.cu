// CUDA optimizer updates: the same per-element float32 arithmetic as the CPU backend (cpu/optim.cpp),
// one fused elementwise kernel per tensor.
#include <cmath>

#include "cuda_backend.h"

namespace fg {

namespace {

__global__ void sgd_kernel(int64_t count, float* p, const float* g, float* v, float lr, float mu, float l2,
                           float shrink) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float pi = p[i];
        const float vel = mu * v[i] + (g[i] + l2 * pi);
        v[i] = vel;
        p[i] = shrink * pi - lr * vel;
    }
}

__global__ void adamw_kernel(int64_t count, float* p, const float* g, float* m, float* s, float b1, float b2,
                             float eps, float step_size, float inv_sqrt_bc2, float shrink) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float grad = g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * grad;
        const float si = b2 * s[i] + (1.0f - b2) * grad * grad;
        m[i] = mi;
        s[i] = si;
        p[i] = shrink * p[i] - step_size * mi / (sqrtf(si) * inv_sqrt_bc2 + eps);
    }
}

}  // namespace

void CudaBackend::optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad,
                                   float* state1, float* state2, bool apply_decay) {
    if (count == 0) return;
    const DeviceGuard guard(device_);
    const unsigned grid = grid_for(count);
    if (hp.kind == FG_OPT_ADAMW) {
        const double step = static_cast<double>(hp.step);
        const float step_size = static_cast<float>(hp.lr / (1.0 - std::pow(double(hp.beta1), step)));
        const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(double(hp.beta2), step)));
        const float shrink = apply_decay ? static_cast<float>(1.0 - double(hp.lr) * hp.weight_decay) : 1.0f;
        adamw_kernel<<<grid, 256, 0, stream_>>>(count, param, grad, state1, state2, hp.beta1, hp.beta2, hp.eps,
                                                step_size, inv_sqrt_bc2, shrink);
        FG_CUDA_LAUNCH_CHECK("adamw_kernel");
        return;
    }
    const float l2 = (apply_decay && !hp.decoupled) ? hp.weight_decay : 0.0f;
    const float shrink = (apply_decay && hp.decoupled) ? static_cast<float>(1.0 - double(hp.lr) * hp.weight_decay) : 1.0f;
    sgd_kernel<<<grid, 256, 0, stream_>>>(count, param, grad, state1, hp.lr, hp.momentum, l2, shrink);
    FG_CUDA_LAUNCH_CHECK("sgd_kernel");
}

}  // namespace fg
