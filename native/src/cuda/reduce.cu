// PLACEHOLDER: reduce primitives, not implemented yet.
#include "../core/error.h"
#include "cuda_backend.h"

namespace fg {

void CudaBackend::add_bias(int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias) {
    fail(FG_ERR_UNSUPPORTED, "add_bias is not implemented yet");
}

void CudaBackend::sum_mid(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out, bool accumulate) {
    fail(FG_ERR_UNSUPPORTED, "sum_mid is not implemented yet");
}

void CudaBackend::broadcast_mid(int64_t outer, int64_t mid, int64_t inner, const float* v, float scale, float* out) {
    fail(FG_ERR_UNSUPPORTED, "broadcast_mid is not implemented yet");
}

}  // namespace fg
