// Images to patches: the LocalMixer's input layout (same as src/cpu/patch.cpp).
#include "cuda_backend.h"

namespace fg {
namespace {
// One thread per output element; out is (B, P, D).
template <class I>
__global__ void patchify_kernel(I batch, I height, I width, I in_channels, I grid, const float* images, float* out) {
    const I ph = height / grid, pw = width / grid, d = ph * pw * in_channels;
    const I total = batch * grid * grid * d;
    for (I idx = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; idx < total;
         idx += static_cast<I>(gridDim.x) * blockDim.x) {
        const I e = idx % d, p = (idx / d) % (grid * grid), b = idx / (d * grid * grid);
        const I c = e % in_channels, j = (e / in_channels) % pw, i = e / (in_channels * pw);
        const I y = (p / grid) * ph + i, x = (p % grid) * pw + j;
        out[idx] = images[((b * height + y) * width + x) * in_channels + c];
    }
}
}  // namespace

void CudaBackend::patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid,
                           const float* images, float* out) {
    const int64_t total = batch * height * width * in_channels;
    if (total == 0) return;
    const DeviceGuard guard(device_);
    with_index_type(total, [&](auto index) {
        using I = decltype(index);
        patchify_kernel<I><<<grid_for(total), 256, 0, stream_>>>(static_cast<I>(batch), static_cast<I>(height),
                                                                 static_cast<I>(width), static_cast<I>(in_channels),
                                                                 static_cast<I>(grid), images, out);
    });
    FG_CUDA_LAUNCH_CHECK("patchify_kernel");
}

}  // namespace fg
