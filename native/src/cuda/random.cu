// CUDA random tangents: one thread per Philox block of four normals, the same arithmetic as the
// CPU backend (core/philox.h), so both backends draw the same tangents.
#include "../core/philox.h"
#include "cuda_backend.h"

namespace fg {

namespace {
// out[i] = element first + i of the stream; one thread per Philox block of the stream that the window touches.
__global__ void random_normal_kernel(float* out, uint64_t count, uint64_t first, uint64_t seed, uint32_t step,
                                     uint32_t tensor_id) {
    const uint64_t end = first + count, b0 = first / 4, blocks = (end + 3) / 4 - b0;
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < blocks;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const uint64_t b = b0 + i, e = 4 * b;
        float lanes[4];
        philox::normal4(seed, step, tensor_id, b, lanes);
        if (e >= first && e + 4 <= end && (reinterpret_cast<uintptr_t>(out + (e - first)) & 15) == 0) {
            *reinterpret_cast<float4*>(out + (e - first)) = make_float4(lanes[0], lanes[1], lanes[2], lanes[3]);
        } else {
            for (uint64_t j = 0; j < 4; ++j)
                if (e + j >= first && e + j < end) out[e + j - first] = lanes[j];
        }
    }
}
}  // namespace

void CudaBackend::random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id,
                                uint64_t first) {
    if (count == 0) return;
    const DeviceGuard guard(device_);
    const int threads = 256;
    const uint64_t blocks = (first + count + 3) / 4 - first / 4;
    random_normal_kernel<<<grid_for(static_cast<int64_t>(blocks), threads), threads, 0, stream_>>>(out, count, first, seed,
                                                                                                  step, tensor_id);
    FG_CUDA_LAUNCH_CHECK("random_normal_kernel");
}

}  // namespace fg
