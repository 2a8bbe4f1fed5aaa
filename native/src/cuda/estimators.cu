// PLACEHOLDER: estimators primitives, not implemented yet.
#include "../core/error.h"
#include "cuda_backend.h"

namespace fg {

void CudaBackend::fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups, const float* u, const float* act, const float* d, float* gz) {
    fail(FG_ERR_UNSUPPORTED, "fga_scale is not implemented yet");
}

void CudaBackend::fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows, int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) {
    fail(FG_ERR_UNSUPPORTED, "fgw_grad is not implemented yet");
}

}  // namespace fg
