// Local loss pieces: softmax cross-entropy with its gradient, and the per-group dot products
// that turn the head's backward vector into every (patch, group) loss's directional derivative.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu_backend.h"

namespace fg {

namespace {
// <x, y> over n elements, in independent lanes so the loop vectorises.
float dot(int64_t n, const float* x, const float* y) {
    constexpr int64_t kLanes = 8;
    float acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) acc[l] += x[i + l] * y[i + l];
    float s = 0.0f;
    for (; i < n; ++i) s += x[i] * y[i];
    for (int64_t l = 0; l < kLanes; ++l) s += acc[l];
    return s;
}
}  // namespace

// logits (B, N), labels (B) -> loss (B) (optional), s = softmax - onehot (B, N).
// Log-sum-exp around the row max, so large logits do not overflow.
void CpuBackend::softmax_xent(int64_t batch, int64_t classes, const float* logits, const int32_t* labels,
                              float* loss, float* s) {
    for (int64_t n = 0; n < batch; ++n) {
        const float* l = logits + n * classes;
        float* sn = s + n * classes;
        const int32_t y = labels[n];
        if (y < 0 || y >= classes) {
            if (loss) loss[n] = std::numeric_limits<float>::quiet_NaN();
            std::fill(sn, sn + classes, 0.0f);
            continue;
        }
        float mx = l[0];
        for (int64_t j = 1; j < classes; ++j) mx = std::max(mx, l[j]);
        double sum = 0;
        for (int64_t j = 0; j < classes; ++j) {
            const float e = std::exp(l[j] - mx);
            sn[j] = e;
            sum += e;
        }
        const float inv = float(1.0 / sum);
        for (int64_t j = 0; j < classes; ++j) sn[j] *= inv;
        sn[y] -= 1.0f;
        if (loss) loss[n] = float(double(mx) + std::log(sum) - double(l[y]));
    }
}

// xdot (K, B, P, C), v (B, C) -> d (K, B, P, G): d[k,n,p,g] = scale * <xdot[k,n,p,g-part], v[n,g-part]>.
void CpuBackend::group_dot(int64_t tangents, int64_t batch, int64_t patches, int64_t channels, int64_t groups,
                           const float* xdot, const float* v, float scale, float* d) {
    const int64_t cg = channels / groups;
    // over the (k, n, p) rows
    for_range(tangents * batch * patches, cpu::row_grain(channels), [=](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const int64_t n = (row / patches) % batch;
            const float* vn = v + n * channels;
            const float* x = xdot + row * channels;
            float* dr = d + row * groups;
            for (int64_t g = 0; g < groups; ++g) dr[g] = scale * dot(cg, x + g * cg, vn + g * cg);
        }
    });
}

}  // namespace fg
