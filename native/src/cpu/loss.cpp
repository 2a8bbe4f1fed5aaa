// PLACEHOLDER: loss primitives, not implemented yet.
#include "../core/error.h"
#include "cpu_backend.h"

namespace fg {

void CpuBackend::softmax_xent(int64_t batch, int64_t classes, const float* logits, const int32_t* labels, float* loss, float* s) {
    fail(FG_ERR_UNSUPPORTED, "softmax_xent is not implemented yet");
}

void CpuBackend::group_dot(int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups, const float* xdot, const float* v, float scale, float* d) {
    fail(FG_ERR_UNSUPPORTED, "group_dot is not implemented yet");
}

}  // namespace fg
