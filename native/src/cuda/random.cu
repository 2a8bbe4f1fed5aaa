// PLACEHOLDER: random primitives, not implemented yet.
#include "../core/error.h"
#include "cuda_backend.h"

namespace fg {

void CudaBackend::random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id) {
    fail(FG_ERR_UNSUPPORTED, "random_normal is not implemented yet");
}

}  // namespace fg
