// CPU optimizer updates with torch.optim semantics (SGD with momentum, AdamW), one tensor per call.
// Arithmetic is float32 per element; step-dependent constants are formed in double.
#include <cmath>

#include "cpu_backend.h"

namespace fg {

namespace {

// v = momentum*v + g' ; p -= lr*v. L2: g' = g + wd*p. Decoupled: p -= lr*wd*p first.
void sgd(const fg_optimizer_params& hp, int64_t count, float* p, const float* g, float* v, bool apply_decay) {
    const float lr = hp.lr, mu = hp.momentum;
    const float l2 = (apply_decay && !hp.decoupled) ? hp.weight_decay : 0.0f;
    const float shrink = (apply_decay && hp.decoupled) ? static_cast<float>(1.0 - double(hp.lr) * hp.weight_decay) : 1.0f;
    for (int64_t i = 0; i < count; ++i) {
        const float grad = g[i] + l2 * p[i];
        const float vel = mu * v[i] + grad;
        v[i] = vel;
        p[i] = shrink * p[i] - lr * vel;
    }
}

// torch.optim.AdamW: p *= 1 - lr*wd; m, s moments; p -= lr/bc1 * m / (sqrt(s)/sqrt(bc2) + eps).
void adamw(const fg_optimizer_params& hp, int64_t count, float* p, const float* g, float* m, float* s,
           bool apply_decay) {
    const double step = static_cast<double>(hp.step);
    const float b1 = hp.beta1, b2 = hp.beta2, eps = hp.eps;
    const float step_size = static_cast<float>(hp.lr / (1.0 - std::pow(double(hp.beta1), step)));
    const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(double(hp.beta2), step)));
    const float shrink = apply_decay ? static_cast<float>(1.0 - double(hp.lr) * hp.weight_decay) : 1.0f;
    for (int64_t i = 0; i < count; ++i) {
        const float grad = g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * grad;
        const float si = b2 * s[i] + (1.0f - b2) * grad * grad;
        m[i] = mi;
        s[i] = si;
        p[i] = shrink * p[i] - step_size * mi / (std::sqrt(si) * inv_sqrt_bc2 + eps);
    }
}

}  // namespace

// Element-wise, so ranges of the tensor split over the loop threads.
void CpuBackend::optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad,
                                  float* state1, float* state2, bool apply_decay) {
    for_range(count, cpu::kElementGrain, [=](int64_t b, int64_t e) {
        if (hp.kind == FG_OPT_ADAMW)
            adamw(hp, e - b, param + b, grad + b, state1 + b, state2 + b, apply_decay);
        else
            sgd(hp, e - b, param + b, grad + b, state1 + b, apply_decay);
    });
}

}  // namespace fg
