// CPU random tangents: Philox4x32-10 normals, four per counter (core/philox.h).
#include <algorithm>

#include "../core/philox.h"
#include "cpu_backend.h"

namespace fg {

void CpuBackend::random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id) {
    const uint64_t blocks = (count + 3) / 4;
    for (uint64_t b = 0; b < blocks; ++b) {
        float lanes[4];
        philox::normal4(seed, step, tensor_id, b, lanes);
        const uint64_t n = std::min<uint64_t>(4, count - 4 * b);  // the last block may be partial
        for (uint64_t j = 0; j < n; ++j) out[4 * b + j] = lanes[j];
    }
}

}  // namespace fg
