// LayerNorm over many rows (row_kernels.h): the values of ln_forward_row and ln_project_row, bit for bit.
// One row's lane sums are chains of dependent adds, so a row alone waits on add latency, and a short row (a
// group LN's 32 units) spends most of its time in the final sum of the eight lanes. The forward pass runs a few
// rows side by side, each with its own eight lanes in one vector, and sums each row's lanes in lane_sum's order;
// the projection takes a row's two sums in one pass.
// The vector path needs the FMA that mul_add uses in the rows it shares with the scalar path.
#if defined(__AVX512F__) && defined(__FMA__)
#define FG_LN_ROWS_AVX512 1
#endif

#include "row_kernels.h"

namespace fg::cpu {

namespace {

#if defined(FG_LN_ROWS_AVX512)
static_assert(kSumLanes == 8, "one vector of doubles holds a row's lanes");

// lane_sum's ending, row by row: s = 0, then s += lane 0, lane 1, ..., lane 7.
template <int Rows>
void sum_lanes(const __m512d* acc, double* out) {
    alignas(64) double lanes[Rows][kSumLanes];
    for (int r = 0; r < Rows; ++r) _mm512_store_pd(lanes[r], acc[r]);
    for (int r = 0; r < Rows; ++r) {
        double s = 0;
        for (int l = 0; l < kSumLanes; ++l) s += lanes[r][l];
        out[r] = s;
    }
}

// Rows rows of width n (a multiple of 8) at stride n.
template <int Rows>
void forward_rows(int64_t n, const float* x, float* y, float* mean, float* rstd) {
    __m512d acc[Rows];
    for (int r = 0; r < Rows; ++r) acc[r] = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += kSumLanes)
        for (int r = 0; r < Rows; ++r) acc[r] = _mm512_add_pd(acc[r], widen8(x + r * n + i));
    double mu[Rows], var[Rows];
    sum_lanes<Rows>(acc, mu);
    __m512d centre[Rows];
    for (int r = 0; r < Rows; ++r) {
        mu[r] /= double(n);
        centre[r] = _mm512_set1_pd(mu[r]);
        acc[r] = _mm512_setzero_pd();
    }
    for (int64_t i = 0; i < n; i += kSumLanes)
        for (int r = 0; r < Rows; ++r) {
            const __m512d c = _mm512_sub_pd(widen8(x + r * n + i), centre[r]);
            acc[r] = _mm512_fmadd_pd(c, c, acc[r]);
        }
    sum_lanes<Rows>(acc, var);
    for (int r = 0; r < Rows; ++r) {
        const double rs = 1.0 / std::sqrt(var[r] / double(n) + double(FG_LN_EPS));
        ln_normalize_row(n, x + r * n, y + r * n, mu[r], rs);
        mean[r] = float(mu[r]);
        rstd[r] = float(rs);
    }
}

// One row, its two sums in one pass as two independent chains. Rows side by side, as in forward_rows, were
// slower here (BM_Op/cpu/layernorm_jvp): this pass is bound by memory, and interleaved rows are more streams.
void project_row(int64_t n, const float* y, float rstd, const float* dy, float* dx) {
    __m512d sum_dy = _mm512_setzero_pd(), sum_ydy = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += kSumLanes) {
        const __m512d g = widen8(dy + i);
        sum_dy = _mm512_add_pd(sum_dy, g);
        sum_ydy = _mm512_fmadd_pd(widen8(y + i), g, sum_ydy);  // the product is exact in double
    }
    double total[2];
    const __m512d sums[2] = {sum_dy, sum_ydy};
    sum_lanes<2>(sums, total);
    ln_project_apply(n, y, rstd, dy, dx, float(total[0] / double(n)), float(total[1] / double(n)));
}
#endif

}  // namespace

void ln_forward_rows(int64_t rows, int64_t n, const float* x, float* y, float* mean, float* rstd) {
    int64_t r = 0;
#if defined(FG_LN_ROWS_AVX512)
    if (n % kSumLanes == 0) {
        for (; r + 8 <= rows; r += 8) forward_rows<8>(n, x + r * n, y + r * n, mean + r, rstd + r);
        for (; r + 4 <= rows; r += 4) forward_rows<4>(n, x + r * n, y + r * n, mean + r, rstd + r);
        for (; r < rows; ++r) forward_rows<1>(n, x + r * n, y + r * n, mean + r, rstd + r);
    }
#endif
    for (; r < rows; ++r) ln_forward_row(n, x + r * n, y + r * n, mean[r], rstd[r]);
}

void ln_project_rows(int64_t rows, int64_t n, const float* y, const float* rstd, const float* dy, float* dx) {
    int64_t r = 0;
#if defined(FG_LN_ROWS_AVX512)
    if (n % kSumLanes == 0)
        for (; r < rows; ++r) project_row(n, y + r * n, rstd[r], dy + r * n, dx + r * n);
#endif
    for (; r < rows; ++r) ln_project_row(n, y + r * n, rstd[r], dy + r * n, dx + r * n);
}

}  // namespace fg::cpu
