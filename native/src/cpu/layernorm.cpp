// LayerNorm without affine parameters over the last axis, eps = FG_LN_EPS.
// Row sums accumulate in double over independent lanes: the lanes vectorise (a single scalar
// accumulator would not, without -ffast-math), and double keeps the reference accurate for
// wide rows with a large mean.
#include <cmath>

#include "cpu_backend.h"

namespace fg {

namespace {

constexpr int64_t kLanes = 8;

// sum_i f(i) for i < n.
template <class F>
double lane_sum(int64_t n, F f) {
    double acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) acc[l] += f(i + l);
    double s = 0;
    for (; i < n; ++i) s += f(i);
    for (int64_t l = 0; l < kLanes; ++l) s += acc[l];
    return s;
}

// dx = rstd * (dy - mean(dy) - y * mean(y * dy)) for one row of width n; dx may alias dy.
// Serves the JVP and the VJP: the LN Jacobian is symmetric.
void ln_project_row(int64_t n, const float* y, float rstd, const float* dy, float* dx) {
    const double mean_dy = lane_sum(n, [&](int64_t i) { return double(dy[i]); }) / double(n);
    const double mean_ydy = lane_sum(n, [&](int64_t i) { return double(y[i]) * double(dy[i]); }) / double(n);
    const float a = float(mean_dy), b = float(mean_ydy);
    for (int64_t i = 0; i < n; ++i) dx[i] = rstd * (dy[i] - a - y[i] * b);
}

}  // namespace

// x, y are (rows, dim); mean, rstd are (rows). Two passes: mean, then variance around it.
void CpuBackend::layernorm_forward(int64_t rows, int64_t dim, const float* x, float* y, float* mean, float* rstd) {
    for_range(rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float* xr = x + r * dim;
            float* yr = y + r * dim;
            const double mu = lane_sum(dim, [&](int64_t i) { return double(xr[i]); }) / double(dim);
            const double var = lane_sum(dim, [&](int64_t i) {
                                   const double c = double(xr[i]) - mu;
                                   return c * c;
                               }) / double(dim);
            const double rs = 1.0 / std::sqrt(var + double(FG_LN_EPS));
            for (int64_t i = 0; i < dim; ++i) yr[i] = float((double(xr[i]) - mu) * rs);
            mean[r] = float(mu);
            rstd[r] = float(rs);
        }
    });
}

// y (rows, dim), rstd (rows); xdot, ydot (K, rows, dim).
void CpuBackend::layernorm_jvp(int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd,
                               const float* xdot, float* ydot) {
    // over the K * rows tangent rows; tangent row j projects with primal row j % rows
    for_range(tangents * rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j) {
            const int64_t r = j % rows;
            ln_project_row(dim, y + r * dim, rstd[r], xdot + j * dim, ydot + j * dim);
        }
    });
}

void CpuBackend::layernorm_vjp(int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy,
                               float* dx) {
    for_range(rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) ln_project_row(dim, y + r * dim, rstd[r], dy + r * dim, dx + r * dim);
    });
}

}  // namespace fg
