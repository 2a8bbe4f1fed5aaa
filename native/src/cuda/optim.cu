// PLACEHOLDER: optim primitives, not implemented yet.
#include "../core/error.h"
#include "cuda_backend.h"

namespace fg {

void CudaBackend::optimizer_update(const fg_optimizer_params& hp, int64_t count, float* param, const float* grad, float* state1, float* state2, bool apply_decay) {
    fail(FG_ERR_UNSUPPORTED, "optimizer_update is not implemented yet");
}

}  // namespace fg
