// Local loss pieces: softmax cross-entropy with its gradient (one warp per example), and the
// per-(patch, group) dot products d = scale * <xdot, v> (one warp segment per output).
#include <cmath>
#include <type_traits>

#include "cuda_backend.h"
#include "warp.cuh"

namespace fg {

namespace {

constexpr int kThreads = 256;

// logits, s (B, N); labels, loss (B); loss may be null. Max-subtracted log-sum-exp, the sum of
// exponentials and the loss in double as in the CPU reference.
// The row loop is warp-uniform so every lane reaches every shuffle.
__global__ void softmax_xent_kernel(int64_t batch, int64_t classes, const float* __restrict__ logits,
                                    const int32_t* __restrict__ labels, float* __restrict__ loss,
                                    float* __restrict__ s) {
    const int lane = threadIdx.x % 32;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
    for (int64_t n = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; n < batch; n += warps) {
        const float* l = logits + n * classes;
        float* sn = s + n * classes;
        const int32_t y = labels[n];
        if (y < 0 || y >= classes) {  // uniform across the warp
            for (int64_t j = lane; j < classes; j += 32) sn[j] = 0.0f;
            if (lane == 0 && loss) loss[n] = NAN;
            continue;
        }
        float mx = -INFINITY;
        for (int64_t j = lane; j < classes; j += 32) mx = fmaxf(mx, l[j]);
        mx = warp_max(mx);
        double sum = 0.0;
        for (int64_t j = lane; j < classes; j += 32) sum += expf(l[j] - mx);
        sum = segment_sum<32>(sum);
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = lane; j < classes; j += 32) {
            const float p = __fmul_rn(expf(l[j] - mx), inv);  // rounded before the -1, as on the CPU
            sn[j] = j == y ? p - 1.0f : p;
        }
        if (lane == 0 && loss) loss[n] = static_cast<float>(static_cast<double>(mx) + log(sum) - static_cast<double>(l[y]));
    }
}

// xdot (K, B, P, C), v (B, C), d (K, B, P, G). Output o = ((k*B + n)*P + p)*G + g reads the
// contiguous xdot slice [o*cg, (o+1)*cg), cg = C/G, and v[n, g*cg ...].
template <int W>
__global__ void group_dot_kernel(int64_t outputs, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                                 const float* __restrict__ xdot, const float* __restrict__ v, float scale,
                                 float* __restrict__ d) {
    constexpr int kPerWarp = 32 / W;
    const int64_t cg = channels / groups;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
    const int seg = (threadIdx.x % 32) / W, lane = threadIdx.x % W;
    for (int64_t wb = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; wb * kPerWarp < outputs;
         wb += warps) {
        const int64_t o = wb * kPerWarp + seg;
        float acc = 0.0f;
        if (o < outputs) {
            const int64_t n = (o / (patches * groups)) % batch, g = o % groups;
            const float* x = xdot + o * cg;
            const float* vn = v + n * channels + g * cg;
            for (int64_t c = lane; c < cg; c += W) acc += x[c] * vn[c];
        }
        acc = segment_sum<W>(acc);
        if (o < outputs && lane == 0) d[o] = scale * acc;
    }
}

}  // namespace

void CudaBackend::softmax_xent(int64_t batch, int64_t classes, const float* logits, const int32_t* labels,
                               float* loss, float* s) {
    if (batch == 0) return;
    const DeviceGuard guard(device_);
    softmax_xent_kernel<<<grid_for(batch, kThreads / 32), kThreads, 0, stream_>>>(batch, classes, logits, labels,
                                                                                   loss, s);
    FG_CUDA_LAUNCH_CHECK("softmax_xent_kernel");
}

void CudaBackend::group_dot(int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                            const float* xdot, const float* v, float scale, float* d) {
    const int64_t outputs = tangents * batch * patches * groups;
    if (outputs == 0) return;
    const DeviceGuard guard(device_);
    const int64_t cg = channels / groups;
    auto launch = [&](auto w) {
        constexpr int W = decltype(w)::value;
        group_dot_kernel<W><<<grid_for(outputs, kThreads / W), kThreads, 0, stream_>>>(
            outputs, batch, patches, channels, groups, xdot, v, scale, d);
    };
    with_segment_width(cg, launch);
    FG_CUDA_LAUNCH_CHECK("group_dot_kernel");
}

}  // namespace fg
