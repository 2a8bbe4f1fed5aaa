// Row L2 normalisation and its VJP, for the contrastive loss's projections (METHOD.md section 2).
#include <algorithm>
#include <cmath>

#include "cpu_backend.h"

namespace fg {

namespace {
constexpr double kMinNorm = 1e-12;  // rows shorter than this are scaled by 1/kMinNorm instead of blowing up
}  // namespace

void CpuBackend::l2_normalize(int64_t rows, int64_t dim, const float* x, float* y, float* inv_norm) {
    for_range(rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float* xr = x + r * dim;
            double sq = 0;
            for (int64_t i = 0; i < dim; ++i) sq += double(xr[i]) * xr[i];
            const float inv = float(1.0 / std::max(std::sqrt(sq), kMinNorm));
            inv_norm[r] = inv;
            for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = xr[i] * inv;
        }
    });
}

void CpuBackend::l2_normalize_vjp(int64_t rows, int64_t dim, const float* y, const float* inv_norm, const float* dy,
                                  float* dx) {
    for_range(rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float* yr = y + r * dim;
            const float* dyr = dy + r * dim;
            double proj = 0;
            for (int64_t i = 0; i < dim; ++i) proj += double(yr[i]) * dyr[i];
            const float p = float(proj), inv = inv_norm[r];
            for (int64_t i = 0; i < dim; ++i) dx[r * dim + i] = inv * (dyr[i] - yr[i] * p);
        }
    });
}

}  // namespace fg
