// Perturbed ReLU: A = relu(Z + Res), Adot_k = [A > 0] * (Zdot_k + U_k + Resdot_k).
#include <algorithm>

#include "cpu_backend.h"

namespace fg {

// z, residual, a are (count); zdot, u, residual_dot, adot are (K, count). Optional inputs are null;
// the null tests are loop-invariant, so the compiler unswitches them out of the vectorised loops.
void CpuBackend::relu_jvp(int64_t count, int64_t tangents, const float* z, const float* residual, const float* zdot,
                          const float* u, const float* residual_dot, float* a, float* adot) {
    for_range(count, cpu::kElementGrain, [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) a[i] = std::max(z[i] + (residual ? residual[i] : 0.0f), 0.0f);
        for (int64_t k = 0; k < tangents; ++k) {
            const int64_t off = k * count;
            for (int64_t i = begin; i < end; ++i) {
                // read every input of element i before writing it: adot may alias zdot
                const float t = (zdot ? zdot[off + i] : 0.0f) + (u ? u[off + i] : 0.0f) +
                                (residual_dot ? residual_dot[off + i] : 0.0f);
                adot[off + i] = a[i] > 0.0f ? t : 0.0f;
            }
        }
    });
}

// dz = [a > 0] * da; dz may alias da.
void CpuBackend::relu_backward(int64_t count, const float* a, const float* da, float* dz) {
    for_range(count, cpu::kElementGrain, [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float g = da[i];  // loaded unconditionally, so the select vectorises instead of branching
            dz[i] = a[i] > 0.0f ? g : 0.0f;
        }
    });
}

}  // namespace fg
