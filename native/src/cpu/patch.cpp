// Images to patches: the LocalMixer's input layout.
#include <cstring>

#include "cpu_backend.h"

namespace fg {

// images is (B, H, W, Cin); out is (B, P, D), P = grid^2, D = ph*pw*Cin in (h, w, c) order.
void CpuBackend::patchify(int64_t batch, int64_t height, int64_t width, int64_t in_channels, int64_t grid,
                          const float* images, float* out) {
    const int64_t ph = height / grid, pw = width / grid;
    const int64_t row = pw * in_channels;  // one patch row is contiguous in the image
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t py = 0; py < grid; ++py)
            for (int64_t px = 0; px < grid; ++px) {
                float* dst = out + ((b * grid + py) * grid + px) * ph * row;
                for (int64_t i = 0; i < ph; ++i) {
                    const float* src = images + ((b * height + py * ph + i) * width + px * pw) * in_channels;
                    std::memcpy(dst + i * row, src, row * sizeof(float));
                }
            }
}

}  // namespace fg
