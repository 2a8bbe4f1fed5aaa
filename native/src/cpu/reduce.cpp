// Reductions and broadcasts over an (outer, mid, inner) view. The inner == 1 case (a bias over the
// last axis) gets its own loop so the contiguous axis is the vectorised one.
#include <algorithm>
#include <vector>

#include "cpu_backend.h"
#include "row_kernels.h"

namespace fg {

// y[o, j, i] += bias[j]
void CpuBackend::add_bias(int64_t outer, int64_t mid, int64_t inner, float* y, const float* bias) {
    for_range(outer, cpu::row_grain(mid * inner), [=](int64_t begin, int64_t end) {
        if (inner == 1) {
            for (int64_t o = begin; o < end; ++o) {
                float* row = y + o * mid;
                for (int64_t j = 0; j < mid; ++j) row[j] += bias[j];
            }
            return;
        }
        for (int64_t o = begin; o < end; ++o)
            for (int64_t j = 0; j < mid; ++j) {
                float* p = y + (o * mid + j) * inner;
                const float bj = bias[j];
                for (int64_t i = 0; i < inner; ++i) p[i] += bj;
            }
    });
}

namespace {
// Sum of n floats: 8 independent float lanes (vectorisable without reassociation), then double.
double sum_row(const float* p, int64_t n) {
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; ++l) lanes[l] += p[i + l];
    double s = 0.0;
    for (int l = 0; l < 8; ++l) s += lanes[l];
    for (; i < n; ++i) s += p[i];
    return s;
}

// acc[j - jb] += sum_o x[o, j] for j in [jb, je), each column summed in double in row order. Rows go in blocks
// whose slice of columns stays in cache, and a chunk of columns' sums stays in registers over a block's rows
// (kept in memory, every add would load and store its sum): the same adds in the same order.
void column_sums(const float* x, int64_t outer, int64_t mid, int64_t jb, int64_t je, double* acc) {
    constexpr int64_t kRowBlock = 64;
    for (int64_t o0 = 0; o0 < outer; o0 += kRowBlock) {
        const int64_t o1 = std::min(outer, o0 + kRowBlock);
        int64_t j = jb;
#if defined(__AVX512F__)
        constexpr int64_t kChunk = 64;
        for (; j + kChunk <= je; j += kChunk) {
            __m512d a[kChunk / 8];
            for (int64_t q = 0; q < kChunk / 8; ++q) a[q] = _mm512_loadu_pd(acc + (j - jb) + 8 * q);
            for (int64_t o = o0; o < o1; ++o) {
                const float* row = x + o * mid + j;
                for (int64_t q = 0; q < kChunk / 8; ++q)
                    a[q] = _mm512_add_pd(a[q], cpu::widen8(row + 8 * q));
            }
            for (int64_t q = 0; q < kChunk / 8; ++q) _mm512_storeu_pd(acc + (j - jb) + 8 * q, a[q]);
        }
#endif
        for (int64_t o = o0; o < o1; ++o) {
            const float* row = x + o * mid;
            for (int64_t c = j; c < je; ++c) acc[c - jb] += row[c];
        }
    }
}
}  // namespace

// out[j] = (accumulate ? out[j] : 0) + scale * sum_{o, i} x[o, j, i], summed in double so long
// reductions (a bias gradient over B*P rows) stay accurate. Split over j: each sum keeps one order.
void CpuBackend::sum_mid(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out,
                         bool accumulate) {
    for_range(mid, cpu::row_grain(outer * inner), [=](int64_t jb, int64_t je) {
        std::vector<double> acc(static_cast<size_t>(je - jb), 0.0);
        if (inner == 1) {
            column_sums(x, outer, mid, jb, je, acc.data());
        } else {
            for (int64_t o = 0; o < outer; ++o)
                for (int64_t j = jb; j < je; ++j) acc[j - jb] += sum_row(x + (o * mid + j) * inner, inner);
        }
        for (int64_t j = jb; j < je; ++j) {
            const float v = static_cast<float>(scale * acc[j - jb]);
            out[j] = accumulate ? out[j] + v : v;
        }
    });
}

// out[o, j, i] = scale * v[o, i]
void CpuBackend::broadcast_mid(int64_t outer, int64_t mid, int64_t inner, const float* v, float scale, float* out) {
    for_range(outer, cpu::row_grain(mid * inner), [=](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
            const float* src = v + o * inner;
            for (int64_t j = 0; j < mid; ++j) {
                float* dst = out + (o * mid + j) * inner;
                for (int64_t i = 0; i < inner; ++i) dst[i] = scale * src[i];
            }
        }
    });
}

}  // namespace fg
