// LayerNorm without affine parameters over the last axis, eps = FG_LN_EPS.
// Row sums in double (row_kernels.h).
#include <algorithm>
#include <cmath>

#include "cpu_backend.h"
#include "row_kernels.h"

namespace fg {

// x, y are (rows, dim); mean, rstd are (rows). Two passes: mean, then variance around it.
void CpuBackend::layernorm_forward(int64_t rows, int64_t dim, const float* x, float* y, float* mean, float* rstd) {
    for_range(rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        cpu::ln_forward_rows(end - begin, dim, x + begin * dim, y + begin * dim, mean + begin, rstd + begin);
    });
}

// y (rows, dim), rstd (rows); xdot, ydot (K, rows, dim).
void CpuBackend::layernorm_jvp(int64_t rows, int64_t dim, int64_t tangents, const float* y, const float* rstd,
                               const float* xdot, float* ydot) {
    // over the K * rows tangent rows; tangent row j projects with primal row j % rows
    for_range(tangents * rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        for (int64_t j = begin; j < end;) {  // runs of consecutive primal rows
            const int64_t r = j % rows, n = std::min(end - j, rows - r);
            cpu::ln_project_rows(n, dim, y + r * dim, rstd + r, xdot + j * dim, ydot + j * dim);
            j += n;
        }
    });
}

void CpuBackend::layernorm_vjp(int64_t rows, int64_t dim, const float* y, const float* rstd, const float* dy,
                               float* dx) {
    for_range(rows, cpu::row_grain(dim), [=](int64_t begin, int64_t end) {
        cpu::ln_project_rows(end - begin, dim, y + begin * dim, rstd + begin, dy + begin * dim, dx + begin * dim);
    });
}

}  // namespace fg
