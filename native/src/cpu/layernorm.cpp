// LayerNorm without affine parameters over the last axis, eps = FG_LN_EPS.
// Row sums in double (row_kernels.h).
#include <cmath>

#include "cpu_backend.h"
#include "row_kernels.h"

namespace fg {

// x, y are (rows, dim); mean, rstd are (rows). Two passes: mean, then variance around it.
void CpuBackend::layernorm_forward(int64_t rows, int64_t dim, const float* x, float* y, float* mean, float* rstd) {
    for_range(rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) cpu::ln_forward_row(dim, x + r * dim, y + r * dim, mean[r], rstd[r]);
    });
}

// y (rows, dim), rstd (rows); xdot, ydot (K, rows, dim).
void CpuBackend::layernorm_jvp(int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd,
                               const float* xdot, float* ydot) {
    // over the K * rows tangent rows; tangent row j projects with primal row j % rows
    for_range(tangents * rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end; ++j) {
            const int64_t r = j % rows;
            cpu::ln_project_row(dim, y + r * dim, rstd[r], xdot + j * dim, ydot + j * dim);
        }
    });
}

void CpuBackend::layernorm_vjp(int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy,
                               float* dx) {
    for_range(rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) cpu::ln_project_row(dim, y + r * dim, rstd[r], dy + r * dim, dx + r * dim);
    });
}

}  // namespace fg
