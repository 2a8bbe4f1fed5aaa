// PLACEHOLDER: layernorm primitives, not implemented yet.
#include "../core/error.h"
#include "cuda_backend.h"

namespace fg {

void CudaBackend::layernorm_forward(int64_t rows, int64_t dim, const float* x, float* y, float* mean, float* rstd) {
    fail(FG_ERR_UNSUPPORTED, "layernorm_forward is not implemented yet");
}

void CudaBackend::layernorm_jvp(int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd, const float* xdot, float* ydot) {
    fail(FG_ERR_UNSUPPORTED, "layernorm_jvp is not implemented yet");
}

void CudaBackend::layernorm_vjp(int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy, float* dx) {
    fail(FG_ERR_UNSUPPORTED, "layernorm_vjp is not implemented yet");
}

}  // namespace fg
