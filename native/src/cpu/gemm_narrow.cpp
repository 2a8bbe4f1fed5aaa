// Narrow GEMM kernels (gemm_narrow.h): AVX-512, accumulators in registers, the k x n block in L1.
#include "gemm_narrow.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "parallel.h"
#include "thread_scratch.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FG_NARROW_KERNELS 1
#define FG_AVX512 __attribute__((target("avx512f")))
#else
#define FG_NARROW_KERNELS 0
#endif

namespace fg::cpu {

#if FG_NARROW_KERNELS
namespace {

constexpr int64_t kLanes = 16;          // floats per AVX-512 vector
constexpr int64_t kMaxWidth = 64;       // n, and k (rows form) or m (dW form), at most this
constexpr double kMinFlops = 4e6;       // smaller batches are over before the loop workers wake
constexpr int64_t kMinRows = 2048;      // rows (rows form) or summed rows (dW form) below which the provider is
                                        // as fast: M/1/16's group layer at batch 100 runs faster there
constexpr int64_t kRowChunk = 192;      // rows per unit of the rows form: a multiple of every tile height
constexpr int64_t kReduceChunk = 256;   // rows per partial sum of the dW form
constexpr int64_t kMaxReduceChunks = 256;
constexpr int kAccumulators = 24;       // of the 32 vector registers; the rest hold B's row and A's value

bool read_enabled() {
    const char* v = std::getenv("FG_NARROW_GEMM");
    if (v && (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0)) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

// C blocks (m, n) of the batch pairwise disjoint: whole blocks apart, or column blocks side by side.
bool outputs_disjoint(const GemmArgs& g) {
    if (g.batch == 1 || g.stride_c >= g.m * g.ldc) return true;
    return g.stride_c >= g.n && (g.batch - 1) * g.stride_c + g.n <= g.ldc;
}

struct NarrowTag;  // packed operands and partial sums (cpu::thread_scratch)
float* scratch(size_t floats) { return thread_scratch<NarrowTag>(floats); }

// c (MR rows, NV vectors) = alpha * acc + beta * c; beta == 0 never reads c.
template <int NV, int MR>
FG_AVX512 inline void store_tile(__m512 (&acc)[MR][NV], float alpha, float beta, float* c, int64_t ldc) {
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
            float* p = c + i * ldc + j * kLanes;
            __m512 v = _mm512_mul_ps(va, acc[i][j]);
            if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_loadu_ps(p), v);
            _mm512_storeu_ps(p, v);
        }
}

// One tile: c (MR, NV*16) = alpha * sum over p < steps of A(:, p) b(p, :) + beta * c, b's rows ldb apart. A(i, p)
// is a[i * lda + p] (rows form: a row of A per output row) or, with A_BY_STEP, a[p * lda + i] (dW form: A^T, a
// row of A per step). Each element's sum runs over p in order whatever the tile, so a row's result does not
// depend on how the rows are split.
template <int NV, int MR, bool A_BY_STEP>
FG_AVX512 void tile(int64_t steps, const float* a, int64_t lda, const float* b, int64_t ldb, float alpha, float beta,
                    float* c, int64_t ldc) {
    __m512 acc[MR][NV];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_ps();
    for (int64_t p = 0; p < steps; ++p) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) bv[j] = _mm512_loadu_ps(b + p * ldb + j * kLanes);
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            const __m512 av = _mm512_set1_ps(A_BY_STEP ? a[p * lda + i] : a[i * lda + p]);
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    store_tile<NV, MR>(acc, alpha, beta, c, ldc);
}

template <int NV>
constexpr int tile_rows() {
    return std::min(12, kAccumulators / NV);
}

// Rows [r0, r1) of one entry: full tiles, then a tile of four, then single rows.
template <int NV>
FG_AVX512 void rows_range(int64_t r0, int64_t r1, int64_t k, const float* a, int64_t lda, const float* bp, int64_t ldb,
                          float alpha, float beta, float* c, int64_t ldc) {
    constexpr int MR = tile_rows<NV>();
    int64_t r = r0;
    for (; r + MR <= r1; r += MR) tile<NV, MR, false>(k, a + r * lda, lda, bp, ldb, alpha, beta, c + r * ldc, ldc);
    if constexpr (MR > 4)
        for (; r + 4 <= r1; r += 4) tile<NV, 4, false>(k, a + r * lda, lda, bp, ldb, alpha, beta, c + r * ldc, ldc);
    for (; r < r1; ++r) tile<NV, 1, false>(k, a + r * lda, lda, bp, ldb, alpha, beta, c + r * ldc, ldc);
}

// All m columns of A for rows [r0, r1): tiles of the tallest height that divides m (the rows stay in L1).
template <int NV>
FG_AVX512 void reduce_range(int64_t r0, int64_t r1, int64_t m, const float* a, int64_t lda, const float* b, int64_t ldb,
                            float* part) {
    constexpr int MR = tile_rows<NV>();
    const int64_t ldp = NV * kLanes, rows = r1 - r0;
    a += r0 * lda;
    b += r0 * ldb;
    int64_t i = 0;
    if (m % MR == 0)
        for (; i < m; i += MR) tile<NV, MR, true>(rows, a + i, lda, b, ldb, 1.0f, 0.0f, part + i * ldp, ldp);
    for (; i + 4 <= m; i += 4) tile<NV, 4, true>(rows, a + i, lda, b, ldb, 1.0f, 0.0f, part + i * ldp, ldp);
    for (; i < m; ++i) tile<NV, 1, true>(rows, a + i, lda, b, ldb, 1.0f, 0.0f, part + i * ldp, ldp);
}

template <class F>
void by_width(int64_t n, F&& f) {
    switch (n / kLanes) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 2: return f(std::integral_constant<int, 2>{});
        case 3: return f(std::integral_constant<int, 3>{});
        default: return f(std::integral_constant<int, 4>{});
    }
}

// op(B[e]) (k, n) of every entry, packed row-major side by side; B itself when already so.
const float* packed_b(const GemmArgs& g) {
    const int64_t k = g.k, n = g.n;
    if (!g.trans_b && g.ldb == n && (g.batch == 1 || g.stride_b == k * n)) return g.b;
    float* bp = scratch(static_cast<size_t>(g.batch * k * n));
    for (int64_t e = 0; e < g.batch; ++e) {
        const float* b = g.b + e * g.stride_b;
        float* d = bp + e * k * n;
        for (int64_t p = 0; p < k; ++p)
            for (int64_t j = 0; j < n; ++j) d[p * n + j] = g.trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j];
    }
    return bp;
}

void gemm_rows(const GemmArgs& g, int32_t threads) {
    const float* bp = packed_b(g);
    const int64_t units = (g.m + kRowChunk - 1) / kRowChunk;
    by_width(g.n, [&](auto nv) {
        parallel_for(threads, units, 1, [&, bp](int64_t begin, int64_t end) {
            for (int64_t u = begin; u < end; ++u) {
                const int64_t r0 = u * kRowChunk, r1 = std::min(g.m, r0 + kRowChunk);
                // every entry on this chunk of rows back to back: the chunk of A and C stays in cache
                for (int64_t e = 0; e < g.batch; ++e)
                    rows_range<decltype(nv)::value>(r0, r1, g.k, g.a + e * g.stride_a, g.lda, bp + e * g.k * g.n, g.n,
                                                    g.alpha, g.beta, g.c + e * g.stride_c, g.ldc);
            }
        });
    });
}

// Panel form: op(A) small (m, k <= 64), B wide (k, n > 64): the token layer's per-sample GEMMs (W_tok^T X[s] and
// W_tok dY[s], W_tok shared). op(A) is packed row-major once per distinct entry; B and C are read and written in
// place, 64 columns at a time, one (entry, panel) per unit of work.
void gemm_panels(const GemmArgs& g, int32_t threads) {
    const int64_t m = g.m, k = g.k, n = g.n, a_entries = g.stride_a == 0 ? 1 : g.batch;
    float* ap = scratch(static_cast<size_t>(a_entries * m * k));
    for (int64_t e = 0; e < a_entries; ++e) {
        const float* a = g.a + e * g.stride_a;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t p = 0; p < k; ++p) ap[(e * m + i) * k + p] = g.trans_a ? a[p * g.lda + i] : a[i * g.lda + p];
    }
    const int64_t panels = (n + kMaxWidth - 1) / kMaxWidth;
    parallel_for(threads, g.batch * panels, 1, [&, ap](int64_t begin, int64_t end) {
        for (int64_t u = begin; u < end; ++u) {
            const int64_t e = u / panels, j0 = (u % panels) * kMaxWidth, width = std::min(kMaxWidth, n - j0);
            const float* a = ap + (g.stride_a == 0 ? 0 : e * m * k);
            by_width(width, [&](auto nv) {
                rows_range<decltype(nv)::value>(0, m, k, a, k, g.b + e * g.stride_b + j0, g.ldb, g.alpha, g.beta,
                                                g.c + e * g.stride_c + j0, g.ldc);
            });
        }
    });
}

void gemm_reduce(const GemmArgs& g, int32_t threads) {
    const int64_t rows = g.k, mn = g.m * g.n;
    const int64_t chunk = std::max(kReduceChunk, (rows + kMaxReduceChunks - 1) / kMaxReduceChunks);
    const int64_t chunks = (rows + chunk - 1) / chunk;
    float* parts = scratch(static_cast<size_t>(chunks * g.batch * mn));  // (chunks, batch, m, n)
    by_width(g.n, [&](auto nv) {
        parallel_for(threads, chunks, 1, [&, parts](int64_t begin, int64_t end) {
            for (int64_t u = begin; u < end; ++u) {
                const int64_t r0 = u * chunk, r1 = std::min(rows, r0 + chunk);
                for (int64_t e = 0; e < g.batch; ++e)
                    reduce_range<decltype(nv)::value>(r0, r1, g.m, g.a + e * g.stride_a, g.lda, g.b + e * g.stride_b,
                                                      g.ldb, parts + (u * g.batch + e) * mn);
            }
        });
    });
    // C[e] = alpha * (sum over chunks, in chunk order) + beta * C[e]
    parallel_for(threads, g.batch * g.m, std::max<int64_t>(1, 4096 / (chunks * g.n)), [&, parts](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const int64_t e = row / g.m, i = row % g.m;
            float* c = g.c + e * g.stride_c + i * g.ldc;
            for (int64_t j = 0; j < g.n; ++j) {
                float s = 0.0f;
                for (int64_t u = 0; u < chunks; ++u) s += parts[(u * g.batch + e) * mn + i * g.n + j];
                c[j] = g.beta == 0.0f ? g.alpha * s : g.alpha * s + g.beta * c[j];
            }
        }
    });
}

bool narrow_width(int64_t n) { return n >= kLanes && n <= kMaxWidth && n % kLanes == 0; }

}  // namespace

bool gemm_narrow_enabled() {
    static const bool enabled = read_enabled();
    return enabled;
}

bool gemm_narrow(const GemmArgs& g, int32_t loop_threads) {
    if (g.m <= 0 || g.n <= 0 || g.k <= 0 || g.batch <= 0 || g.n % kLanes != 0) return false;
    if (2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k) * static_cast<double>(g.batch) <
        kMinFlops)
        return false;
    if (!outputs_disjoint(g) || !gemm_narrow_enabled()) return false;
    if (!narrow_width(g.n)) {
        if (g.trans_b || g.m > kMaxWidth || g.k > kMaxWidth) return false;
        gemm_panels(g, loop_threads);
        return true;
    }
    if (!g.trans_a && g.k <= kMaxWidth && g.m >= kMinRows) {
        gemm_rows(g, loop_threads);
        return true;
    }
    if (g.trans_a && !g.trans_b && g.m <= kMaxWidth && g.k >= kMinRows) {
        gemm_reduce(g, loop_threads);
        return true;
    }
    return false;
}

#else  // no AVX-512 kernels on this compiler / architecture

bool gemm_narrow_enabled() { return false; }
bool gemm_narrow(const GemmArgs&, int32_t) { return false; }

#endif

}  // namespace fg::cpu
