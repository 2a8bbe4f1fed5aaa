// Images to patches: the LocalMixer's input layout (same as src/cpu/patch.cpp).
#include "cuda_backend.h"

namespace fg {
namespace {
// One thread per output element; out is (B, P, D).
__global__ void patchify_kernel(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid,
                                const float* images, float* out) {
    const int64_t ph = height / grid, pw = width / grid, d = ph * pw * in_channels;
    const int64_t total = batch * grid * grid * d;
    for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
         idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t e = idx % d, p = (idx / d) % (grid * grid), b = idx / (d * grid * grid);
        const int64_t c = e % in_channels, j = (e / in_channels) % pw, i = e / (in_channels * pw);
        const int64_t y = (p / grid) * ph + i, x = (p % grid) * pw + j;
        out[idx] = images[((b * height + y) * width + x) * in_channels + c];
    }
}
}  // namespace

void CudaBackend::patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid,
                           const float* images, float* out) {
    const int64_t total = batch * height * width * in_channels;
    patchify_kernel<<<grid_for(total), 256, 0, stream_>>>(batch, height, width, in_channels, grid, images, out);
    FG_CUDA_LAUNCH_CHECK("patchify_kernel");
}

}  // namespace fg
