// Row-wise pieces of the CPU kernels, shared by the primitives (layernorm.cpp, relu.cpp, estimators.cpp,
// reduce.cpp) and the fused layer tails (layer_tail.cpp) so both give the same numbers, bit for bit.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "forwardgrad.h"

namespace fg::cpu {

#if defined(__AVX512F__)
// Eight floats widened to doubles. The masked form: GCC 12 reads the plain one's undefined passthrough as used
// uninitialised.
inline __m512d widen8(const float* p) { return _mm512_maskz_cvtps_pd(__mmask8(0xFF), _mm256_loadu_ps(p)); }
#endif

// The ReLU's element loops (relu.cpp's primitives and the fused layer tails). Optional inputs are null; the
// null tests are loop-invariant, so the compiler unswitches them out of the vectorised loops.
// a = max(z + residual, 0).
inline void relu_range(int64_t n, const float* z, const float* residual, float* a) {
    for (int64_t i = 0; i < n; ++i) a[i] = std::max(z[i] + (residual ? residual[i] : 0.0f), 0.0f);
}

// adot = [a > 0] (zdot + u + residual_dot); adot may alias zdot (every input of element i is read first).
inline void relu_tangent_range(int64_t n, const float* a, const float* zdot, const float* u, const float* residual_dot,
                               float* adot) {
    for (int64_t i = 0; i < n; ++i) {
        const float t = (zdot ? zdot[i] : 0.0f) + (u ? u[i] : 0.0f) + (residual_dot ? residual_dot[i] : 0.0f);
        adot[i] = a[i] > 0.0f ? t : 0.0f;
    }
}

// dz = [a > 0] da; dz may alias da. da is loaded unconditionally, so the select vectorises instead of branching.
inline void relu_backward_range(int64_t n, const float* a, const float* da, float* dz) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = da[i];
        dz[i] = a[i] > 0.0f ? g : 0.0f;
    }
}

// Row sums accumulate in double over independent lanes: the lanes vectorise (a single scalar accumulator
// would not, without -ffast-math), and double keeps the reference accurate for wide rows with a large mean.
constexpr int64_t kSumLanes = 8;

// a * b + c, rounded once where the build targets FMA (what the compiler makes of a * b + c there anyway), else
// twice: std::fma without the instruction is a library call per element.
template <class T>
inline T mul_add(T a, T b, T c) {
#if defined(__FMA__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}

// Folds step(acc, i) over i < n into eight lanes (element i to lane i mod 8), the elements past the last whole
// eight into a running s, then adds the lanes to s in order.
template <class Step>
inline double lane_fold(int64_t n, Step step) {
    double acc[kSumLanes] = {};
    int64_t i = 0;
    for (; i + kSumLanes <= n; i += kSumLanes)
        for (int64_t l = 0; l < kSumLanes; ++l) acc[l] = step(acc[l], i + l);
    double s = 0;
    for (; i < n; ++i) s = step(s, i);
    for (int64_t l = 0; l < kSumLanes; ++l) s += acc[l];
    return s;
}

// sum_i f(i) for i < n.
template <class F>
inline double lane_sum(int64_t n, F f) {
    return lane_fold(n, [&](double s, int64_t i) { return s + f(i); });
}

// y = (x - mu) * rs over one row of width n.
inline void ln_normalize_row(int64_t n, const float* x, float* y, double mu, double rs) {
    for (int64_t i = 0; i < n; ++i) y[i] = float((double(x[i]) - mu) * rs);
}

// y = (x - mean) * rstd over one row of width n (eps = FG_LN_EPS): two passes, mean then variance around it,
// the squares accumulated by mul_add.
inline void ln_forward_row(int64_t n, const float* x, float* y, float& mean, float& rstd) {
    const double mu = lane_sum(n, [&](int64_t i) { return double(x[i]); }) / double(n);
    const double var = lane_fold(n, [&](double s, int64_t i) {
                           const double c = double(x[i]) - mu;
                           return mul_add(c, c, s);
                       }) / double(n);
    const double rs = 1.0 / std::sqrt(var + double(FG_LN_EPS));
    ln_normalize_row(n, x, y, mu, rs);
    mean = float(mu);
    rstd = float(rs);
}

// dx = rstd * (dy - a - y * b) for one row of width n, a = mean(dy), b = mean(y * dy), y * b taken off by
// mul_add; dx may alias dy.
inline void ln_project_apply(int64_t n, const float* y, float rstd, const float* dy, float* dx, float a, float b) {
    for (int64_t i = 0; i < n; ++i) dx[i] = rstd * mul_add(-y[i], b, dy[i] - a);
}

// dx = rstd * (dy - mean(dy) - y * mean(y * dy)) for one row of width n; dx may alias dy.
// Serves the JVP and the VJP: the LN Jacobian is symmetric.
inline void ln_project_row(int64_t n, const float* y, float rstd, const float* dy, float* dx) {
    const double mean_dy = lane_sum(n, [&](int64_t i) { return double(dy[i]); }) / double(n);
    const double mean_ydy = lane_sum(n, [&](int64_t i) { return double(y[i]) * double(dy[i]); }) / double(n);
    ln_project_apply(n, y, rstd, dy, dx, float(mean_dy), float(mean_ydy));
}

// The two above over `rows` consecutive rows (every pointer but rstd at stride n), the same values bit for bit;
// with AVX-512 several rows at a time (row_kernels.cpp).
void ln_forward_rows(int64_t rows, int64_t n, const float* x, float* y, float* mean, float* rstd);
void ln_project_rows(int64_t rows, int64_t n, const float* y, const float* rstd, const float* dy, float* dx);

// One row r = (n, p) of the FG-A estimate: out[c] = (1/K) sum_k scale_k(c) u_k[c] [act[c] > 0], tangent k's
// noise row at u + k * u_stride; d (K, rows, G) as fg_fga_scale. See CpuBackend::fga_scale.
inline void fga_scale_row(int32_t mode, int64_t tangents, int64_t r, int64_t rows, int64_t patches, int64_t channels,
                          int64_t groups, const float* u, int64_t u_stride, const float* act, const float* d,
                          float* out) {
    const int64_t width = channels / groups, n = r / patches;
    const float inv_k = static_cast<float>(1.0 / static_cast<double>(tangents));
    for (int64_t c = 0; c < channels; ++c) out[c] = 0.0f;
    for (int64_t k = 0; k < tangents; ++k) {
        const float* dk = d + (k * rows + r) * groups;  // d[k,n,p,:]
        const float* uk = u + k * u_stride;
        double shared = 0.0;  // the one scalar of every unit in PATCH / GLOBAL mode
        if (mode == FG_SCALE_PATCH)
            for (int64_t g = 0; g < groups; ++g) shared += dk[g];
        if (mode == FG_SCALE_GLOBAL) {
            const float* dn = d + (k * rows + n * patches) * groups;  // d[k,n,:,:]
            for (int64_t i = 0; i < patches * groups; ++i) shared += dn[i];
        }
        for (int64_t g = 0; g < groups; ++g) {
            const float s = static_cast<float>(mode == FG_SCALE_GROUP ? double(dk[g]) : shared);
            for (int64_t c = g * width; c < (g + 1) * width; ++c) out[c] += s * uk[c];
        }
    }
    // A select, not a product: an inactive unit gives exactly 0 even when u*d is not finite.
    for (int64_t c = 0; c < channels; ++c) out[c] = act[c] > 0.0f ? out[c] * inv_k : 0.0f;
}

// Elements [begin, begin + n) of the Philox normal stream (seed, step, tensor_id) of `count` values: the
// numbers CpuBackend::random_normal writes there, bit for bit (random.cpp).
void normals_range(float* dst, uint64_t begin, uint64_t n, uint64_t count, uint64_t seed, uint32_t step,
                   uint32_t tensor_id);

}  // namespace fg::cpu
