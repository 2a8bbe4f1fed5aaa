// PLACEHOLDER: relu primitives, not implemented yet.
#include "../core/error.h"
#include "cpu_backend.h"

namespace fg {

void CpuBackend::relu_jvp(int64_t count, int64_t tangents, const float* z, const float* residual, const float* zdot, const float* u, const float* residual_dot, float* a, float* adot) {
    fail(FG_ERR_UNSUPPORTED, "relu_jvp is not implemented yet");
}

void CpuBackend::relu_backward(int64_t count, const float* a, const float* da, float* dz) {
    fail(FG_ERR_UNSUPPORTED, "relu_backward is not implemented yet");
}

}  // namespace fg
