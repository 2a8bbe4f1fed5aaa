// CPU gradient estimators: the FG-A pre-activation estimate (fga_scale) and the FG-W weight
// estimate (fgw_grad). Sums over tangents, rows and groups are kept in double.
#include <algorithm>
#include <vector>

#include "cpu_backend.h"
#include "row_kernels.h"

namespace fg {

// gz[n,p,c] = (1/K) sum_k scale_k(n,p,c) * u[k,n,p,c] * [act[n,p,c] > 0]
//   u (K,B,P,C), act (B,P,C), d (K,B,P,G), gz (B,P,C).
void CpuBackend::fga_scale(int32_t mode, int64_t tangents, int64_t batch, int64_t patches, int64_t channels,
                           int64_t groups, const float* u, const float* act, const float* d, float* gz) {
    const int64_t rows = batch * patches;
    for_range(rows, cpu::row_grain(channels), [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
            cpu::fga_scale_row(mode, tangents, r, rows, patches, channels, groups, u + r * channels, rows * channels,
                               act + r * channels, d, gz + r * channels);
    });
}

namespace {
double group_total(const float* dk, int64_t rows, int64_t groups, int64_t g) {
    double sum = 0.0;
    for (int64_t r = 0; r < rows; ++r) sum += dk[r * groups + g];
    return sum;
}
}  // namespace

// grad[e] (+)= (1/K) sum_k D_k(group(e)) * v[k,e], D_k(g) = sum_r d[k,r,g]; see fg_fgw_grad.
//   v (K, count), d (K, rows, G), grad (count).
void CpuBackend::fgw_grad(int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
                          int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) {
    const double inv_k = 1.0 / static_cast<double>(tangents);
    // scale[k, g]: the float multiplier of tangent k's slice g (every slice the same in FG_WSLICE_ALL)
    std::vector<float> scale(static_cast<size_t>(tangents * groups));
    for (int64_t k = 0; k < tangents; ++k) {
        const float* dk = d + k * rows * groups;
        double all = 0.0;
        for (int64_t g = 0; g < groups; ++g) {
            const double total = group_total(dk, rows, groups, g);
            all += total;
            scale[k * groups + g] = static_cast<float>(total * inv_k);
        }
        if (slice_mode == FG_WSLICE_ALL)
            for (int64_t g = 0; g < groups; ++g) scale[k * groups + g] = static_cast<float>(all * inv_k);
    }
    const int64_t slice = count / groups, width = cols / groups;
    const float* scales = scale.data();
    // f(e0, e1, g) over the runs of [begin, end) that lie in one group's slice
    auto for_each_run = [=](int64_t begin, int64_t end, auto&& f) {
        for (int64_t e = begin; e < end;) {
            int64_t g = 0, run_end = end;
            if (slice_mode == FG_WSLICE_LEADING) {
                g = e / slice;
                run_end = std::min(end, (g + 1) * slice);
            } else if (slice_mode == FG_WSLICE_COLUMNS) {
                const int64_t col = e % cols;
                g = col / width;
                run_end = std::min(end, e - col + (g + 1) * width);
            }
            f(e, run_end, g);
            e = run_end;
        }
    };
    for_range(count, cpu::kElementGrain, [=](int64_t begin, int64_t end) {
        if (!accumulate) std::fill(grad + begin, grad + end, 0.0f);
        for (int64_t k = 0; k < tangents; ++k) {
            const float* vk = v + k * count;
            const float* sk = scales + k * groups;
            for_each_run(begin, end, [&](int64_t e0, int64_t e1, int64_t g) {
                const float s = sk[g];
                for (int64_t e = e0; e < e1; ++e) grad[e] += s * vk[e];
            });
        }
    });
}

}  // namespace fg
