// The internal GEMM: a cache-blocked C++ sgemm, the provider of last resort (no BLAS loadable, or
// FG_GEMM_PROVIDER=internal). Single-threaded; the inner loop runs over packed, contiguous blocks so
// the compiler vectorises it.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace fg::cpu {

namespace {
constexpr int64_t kBlockM = 64, kBlockN = 256, kBlockK = 256;
}  // namespace

// C (m, n) = alpha op(A) op(B) + beta C, row-major with leading dimensions.
void sgemm_internal(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* A, int64_t lda,
                    const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    thread_local std::vector<float> pa, pb;
    pa.resize(kBlockM * kBlockK);
    pb.resize(kBlockK * kBlockN);
    auto a_at = [&](int64_t i, int64_t p) { return ta ? A[p * lda + i] : A[i * lda + p]; };
    auto b_at = [&](int64_t p, int64_t j) { return tb ? B[j * ldb + p] : B[p * ldb + j]; };
    for (int64_t i = 0; i < m; ++i) {
        float* row = C + i * ldc;
        if (beta == 0.0f)
            std::fill(row, row + n, 0.0f);  // beta == 0 ignores NaNs in C, as BLAS does
        else if (beta != 1.0f)
            for (int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
    for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
        const int64_t nb = std::min(kBlockN, n - j0);
        for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
            const int64_t kb = std::min(kBlockK, k - p0);
            for (int64_t p = 0; p < kb; ++p)
                for (int64_t j = 0; j < nb; ++j) pb[p * nb + j] = b_at(p0 + p, j0 + j);
            for (int64_t i0 = 0; i0 < m; i0 += kBlockM) {
                const int64_t mb = std::min(kBlockM, m - i0);
                for (int64_t i = 0; i < mb; ++i)
                    for (int64_t p = 0; p < kb; ++p) pa[i * kb + p] = alpha * a_at(i0 + i, p0 + p);
                for (int64_t i = 0; i < mb; ++i) {
                    float* crow = C + (i0 + i) * ldc + j0;
                    const float* arow = pa.data() + i * kb;
                    for (int64_t p = 0; p < kb; ++p) {
                        const float aip = arow[p];
                        const float* brow = pb.data() + p * nb;
                        for (int64_t j = 0; j < nb; ++j) crow[j] += aip * brow[j];
                    }
                }
            }
        }
    }
}

}  // namespace fg::cpu
