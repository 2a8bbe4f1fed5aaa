// Perturbed ReLU: A = relu(Z + Res), Adot_k = [A > 0] * (Zdot_k + U_k + Resdot_k).
#include "cpu_backend.h"
#include "row_kernels.h"

namespace fg {

// z, residual, a are (count); zdot, u, residual_dot, adot are (K, count). Optional inputs are null.
void CpuBackend::relu_jvp(int64_t count, int64_t tangents, const float* z, const float* residual, const float* zdot,
                          const float* u, const float* residual_dot, float* a, float* adot) {
    for_range(count, cpu::kElementGrain, [=](int64_t begin, int64_t end) {
        const int64_t n = end - begin;
        cpu::relu_range(n, z + begin, residual ? residual + begin : nullptr, a + begin);
        for (int64_t k = 0; k < tangents; ++k) {
            const int64_t off = k * count + begin;
            cpu::relu_tangent_range(n, a + begin, zdot ? zdot + off : nullptr, u ? u + off : nullptr,
                                    residual_dot ? residual_dot + off : nullptr, adot + off);
        }
    });
}

// dz = [a > 0] * da; dz may alias da.
void CpuBackend::relu_backward(int64_t count, const float* a, const float* da, float* dz) {
    for_range(count, cpu::kElementGrain, [=](int64_t begin, int64_t end) {
        cpu::relu_backward_range(end - begin, a + begin, da + begin, dz + begin);
    });
}

}  // namespace fg
