// CUDA random tangents: one thread per Philox block of four normals, the same arithmetic as the
// CPU backend (core/philox.h), so both backends draw the same tangents.
#include "../core/philox.h"
#include "cuda_backend.h"

namespace fg {

namespace {
__global__ void random_normal_kernel(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id) {
    const uint64_t blocks = (count + 3) / 4;
    for (uint64_t b = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; b < blocks;
         b += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        float lanes[4];
        philox::normal4(seed, step, tensor_id, b, lanes);
        const uint64_t first = 4 * b;
        if (first + 4 <= count && (reinterpret_cast<uintptr_t>(out + first) & 15) == 0) {
            *reinterpret_cast<float4*>(out + first) = make_float4(lanes[0], lanes[1], lanes[2], lanes[3]);
        } else {
            for (uint64_t j = 0; j < 4 && first + j < count; ++j) out[first + j] = lanes[j];
        }
    }
}
}  // namespace

void CudaBackend::random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id) {
    if (count == 0) return;
    const DeviceGuard guard(device_);
    const int threads = 256;
    random_normal_kernel<<<grid_for(static_cast<int64_t>((count + 3) / 4), threads), threads, 0, stream_>>>(
        out, count, seed, step, tensor_id);
    FG_CUDA_LAUNCH_CHECK("random_normal_kernel");
}

}  // namespace fg
