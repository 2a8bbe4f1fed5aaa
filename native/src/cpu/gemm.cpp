// CPU GEMM: every call goes to the process's GEMM provider (gemm_provider.h); batches of small GEMMs
// are regrouped here into fewer, larger provider calls.
#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "cpu_backend.h"
#include "gemm_narrow.h"
#include "gemm_provider.h"
#include "thread_scratch.h"

namespace fg {

const char* cpu_gemm_name() { return cpu::gemm_provider().description.c_str(); }

void cpu_gemm_set_threads(int32_t threads) {
    if (auto set = cpu::gemm_provider().set_threads) set(threads);
}

namespace {

// ---- batched GEMMs with one shared operand, as one (or a few) large BLAS calls
//
// A batch of small GEMMs run as a loop of cblas_sgemm calls leaves OpenBLAS's threads mostly idle
// (each call is too small to split well, and each pays the thread start/stop). When one operand is
// shared (stride 0), the batch is one GEMM over the other operand's entries laid side by side:
//   shared A: C[b] (m, n) = op(A) op(B[b])   ==  op(A) (m, k) x [op(B[0]) | op(B[1]) | ...] (k, batch*n)
//   shared B: C[b] (m, n) = op(A[b]) op(B)   ==  [op(A[0]); op(A[1]); ...] (batch*m, k) x op(B) (k, n)
// The stacked operand and the stacked result are used in place when the strides already give that
// layout, else they are packed into / unpacked from a thread-local workspace (grown on demand, reused).
// The batch runs in chunks so the workspace stays small (cache-sized) however large the batch.

// When to pack. Stacking in place (no copies) always pays: fewer calls over the same data. Packing
// trades two extra memory passes (operand in, result out) for the calls it saves, and measured on the
// 2-vCPU reference machine (docs/PERFORMANCE.md) it pays only for small entries whose copies are cheap
// next to their flops: the token layer's 64 x 512 x 64 entries (4 MFLOP) ran ~10 % slower packed than
// as a loop (the copies cost more than OpenBLAS's per-call overhead), 32 x 512 x 32 ran ~15 % faster,
// and entries with m or k below 32 (copies ~ flops) ran slower. So: pack entries of at most
// kPackMaxEntryFlops flops with at most kPackMaxCopyPerFlop floats copied per flop.
constexpr double kPackMaxEntryFlops = 2e6;
constexpr double kPackMaxCopyPerFlop = 1.0 / 32;
#if !defined(FG_CPU_GEMM_CHUNK_FLOATS)
#define FG_CPU_GEMM_CHUNK_FLOATS (int64_t(1) << 19)  // 2 MiB: the packed operand and result stay in L2
#endif
constexpr int64_t kChunkFloats = FG_CPU_GEMM_CHUNK_FLOATS;
// Entries needing more workspace than this (few flops, much memory: k tiny) keep the plain loop.
constexpr int64_t kMaxEntryFloats = int64_t(1) << 21;

bool worth_packing(const GemmArgs& g, int64_t per_entry_floats) {
    if (per_entry_floats == 0) return true;  // in place: no copies
    if (per_entry_floats > kMaxEntryFloats) return false;
    const double flops = 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
    return flops <= kPackMaxEntryFlops && static_cast<double>(per_entry_floats) <= kPackMaxCopyPerFlop * flops;
}

struct PackTag;  // the packed operands' scratch (cpu::thread_scratch)
float* workspace(size_t floats) { return cpu::thread_scratch<PackTag>(floats); }

// dst (rows, cols) with leading dimension ldd <- src (rows, cols) with lds.
void copy_block(int64_t rows, int64_t cols, const float* src, int64_t lds, float* dst, int64_t ldd) {
    for (int64_t i = 0; i < rows; ++i) std::memcpy(dst + i * ldd, src + i * lds, static_cast<size_t>(cols) * sizeof(float));
}

// dst = src + beta * dst over a (rows, cols) block; beta == 0 overwrites (NaNs in dst are ignored).
void store_block(int64_t rows, int64_t cols, const float* src, int64_t lds, float beta, float* dst, int64_t ldd) {
    if (beta == 0.0f) return copy_block(rows, cols, src, lds, dst, ldd);
    for (int64_t i = 0; i < rows; ++i) {
        const float* s = src + i * lds;
        float* d = dst + i * ldd;
        if (beta == 1.0f)
            for (int64_t j = 0; j < cols; ++j) d[j] += s[j];
        else
            for (int64_t j = 0; j < cols; ++j) d[j] = s[j] + beta * d[j];
    }
}

void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc) {
    cpu::gemm_provider().sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Entries per chunk: as many as fit kChunkFloats of workspace (at least one), within int range.
int64_t chunk_entries(int64_t batch, int64_t per_entry_floats, int64_t per_entry_cols) {
    int64_t cb = per_entry_floats > 0 ? kChunkFloats / per_entry_floats : batch;
    cb = std::min<int64_t>(cb, INT_MAX / std::max<int64_t>(per_entry_cols, 1));
    return std::max<int64_t>(1, std::min(cb, batch));
}

// Shared A: C[b] = alpha op(A) op(B[b]) + beta C[b]. The side-by-side operand is op(B) (k, cb*n):
// without trans_b its entries are column blocks of a (k, cb*n) matrix; with trans_b they are row
// blocks of a (cb*n, k) matrix (used transposed). The result is the (m, cb*n) matrix of column blocks.
bool gemm_shared_a(const GemmArgs& g) {
    const int64_t m = g.m, n = g.n, k = g.k;
    // In place when B's entries already sit side by side / stacked with one leading dimension.
    const bool b_direct = g.trans_b ? g.stride_b == n * g.ldb : g.stride_b == n && g.ldb >= g.batch * n;
    // C's entries side by side in one (m, batch*n) matrix: stride n, and ldc spanning the batch.
    const bool c_direct = g.stride_c == n && (m == 1 || g.ldc == g.batch * n) && g.batch * n <= INT_MAX;
    const int64_t per_entry = (b_direct ? 0 : k * n) + (c_direct ? 0 : m * n);
    if (!worth_packing(g, per_entry)) return false;
    const int64_t cb = c_direct && b_direct ? g.batch : chunk_entries(g.batch, per_entry, n);
    float* ws = per_entry ? workspace(static_cast<size_t>(cb * per_entry)) : nullptr;
    float* bp = ws;
    float* cp = ws + (b_direct ? 0 : cb * k * n);
    for (int64_t b0 = 0; b0 < g.batch; b0 += cb) {
        const int64_t nb = std::min(cb, g.batch - b0), cols = nb * n;
        const float* B = g.b + b0 * g.stride_b;
        int64_t ldb = g.ldb;
        if (!b_direct) {
            for (int64_t e = 0; e < nb; ++e) {
                const float* src = g.b + (b0 + e) * g.stride_b;
                if (g.trans_b)
                    copy_block(n, k, src, g.ldb, bp + e * n * k, k);  // rows e*n .. of (cols, k)
                else
                    copy_block(k, n, src, g.ldb, bp + e * n, cols);  // columns e*n .. of (k, cols)
            }
            B = bp;
            ldb = g.trans_b ? k : cols;
        }
        if (c_direct) {
            sgemm(g.trans_a, g.trans_b, m, cols, k, g.alpha, g.a, g.lda, B, ldb, g.beta, g.c + b0 * g.stride_c,
                  m == 1 ? cols : g.ldc);
            continue;
        }
        sgemm(g.trans_a, g.trans_b, m, cols, k, g.alpha, g.a, g.lda, B, ldb, 0.0f, cp, cols);
        for (int64_t e = 0; e < nb; ++e)
            store_block(m, n, cp + e * n, cols, g.beta, g.c + (b0 + e) * g.stride_c, g.ldc);
    }
    return true;
}

// Shared B: C[b] = alpha op(A[b]) op(B) + beta C[b]. The stacked operand is op(A) (cb*m, k): without
// trans_a its entries are row blocks of a (cb*m, k) matrix; with trans_a they are column blocks of a
// (k, cb*m) matrix (used transposed). The result is the (cb*m, n) matrix of row blocks.
bool gemm_shared_b(const GemmArgs& g) {
    const int64_t m = g.m, n = g.n, k = g.k;
    const bool a_direct = g.trans_a ? g.stride_a == m && g.lda >= g.batch * m : g.stride_a == m * g.lda;
    const bool c_direct = g.stride_c == m * g.ldc;
    const int64_t per_entry = (a_direct ? 0 : k * m) + (c_direct ? 0 : m * n);
    if (!worth_packing(g, per_entry)) return false;
    const int64_t cb = chunk_entries(g.batch, per_entry, m);
    float* ws = per_entry ? workspace(static_cast<size_t>(cb * per_entry)) : nullptr;
    float* ap = ws;
    float* cp = ws + (a_direct ? 0 : cb * k * m);
    for (int64_t b0 = 0; b0 < g.batch; b0 += cb) {
        const int64_t nb = std::min(cb, g.batch - b0), rows = nb * m;
        const float* A = g.a + b0 * g.stride_a;
        int64_t lda = g.lda;
        if (!a_direct) {
            for (int64_t e = 0; e < nb; ++e) {
                const float* src = g.a + (b0 + e) * g.stride_a;
                if (g.trans_a)
                    copy_block(k, m, src, g.lda, ap + e * m, rows);  // columns e*m .. of (k, rows)
                else
                    copy_block(m, k, src, g.lda, ap + e * m * k, k);  // rows e*m .. of (rows, k)
            }
            A = ap;
            lda = g.trans_a ? rows : k;
        }
        if (c_direct) {
            sgemm(g.trans_a, g.trans_b, rows, n, k, g.alpha, A, lda, g.b, g.ldb, g.beta, g.c + b0 * g.stride_c, g.ldc);
            continue;
        }
        sgemm(g.trans_a, g.trans_b, rows, n, k, g.alpha, A, lda, g.b, g.ldb, 0.0f, cp, n);
        for (int64_t e = 0; e < nb; ++e)
            store_block(m, n, cp + e * m * n, n, g.beta, g.c + (b0 + e) * g.stride_c, g.ldc);
    }
    return true;
}

// ---- batches of narrow GEMMs, split by rows over the loop threads
//
// A group layer's G blocks ((K+1)R x C/G x C/G each, with no operand shared) are G calls that each
// stream the whole height of X and Y through the cache for a C/G-wide slice: at M/8/16 that ran at half
// the rate of one such block alone. Split instead by rows: a unit is one row chunk of one entry, the
// units of a row chunk run back to back (that chunk of X and Y stays in cache for all G entries), and
// the units spread over the loop threads. A chunk is small enough that the provider runs it on the calling
// thread (below GemmProvider::serial_below_mnk), so the two pools never nest; a provider that threads
// every call (oneDNN) keeps the plain loop. Applies to entries with n*k <= kNarrowMaxNK and no shared operand.
constexpr int64_t kNarrowMaxNK = 64 * 64;
constexpr double kNarrowMinFlops = 8e6;  // below this a batch is over before the workers would wake
constexpr int64_t kMinRowChunks = 8;     // enough units to spread over a few loop threads

// Whether the entries' C blocks are pairwise disjoint (units of different entries run at the same time):
// whole row blocks apart, or column blocks side by side within ldc.
bool outputs_disjoint(const GemmArgs& g) {
    if (g.stride_c >= g.m * g.ldc) return true;
    return g.stride_c >= g.n && (g.batch - 1) * g.stride_c + g.n <= g.ldc;
}

bool gemm_row_split(const GemmArgs& g, int32_t loop_threads) {
    const int64_t nk = g.n * g.k;
    const int64_t serial_mnk = cpu::gemm_provider().serial_below_mnk;
    if (serial_mnk <= 0 || g.stride_a == 0 || g.stride_b == 0 || nk > kNarrowMaxNK) return false;
    if (!outputs_disjoint(g)) return false;
    if (2.0 * static_cast<double>(g.m) * static_cast<double>(nk) * static_cast<double>(g.batch) < kNarrowMinFlops)
        return false;
    // Equal row chunks, each under the provider's threading threshold, and at least kMinRowChunks to share
    // out. The split depends on the shape alone, never on the thread count: a provider may use another
    // kernel (another summation order) for a smaller GEMM, so the split must be the same for any count.
    const int64_t max_rows = std::max<int64_t>(1, std::min<int64_t>(serial_mnk / nk, g.m));
    const int64_t chunks = std::max((g.m + max_rows - 1) / max_rows, std::min<int64_t>(kMinRowChunks, g.m / 16));
    const int64_t rows = (g.m + chunks - 1) / chunks, units = ((g.m + rows - 1) / rows) * g.batch;
    cpu::parallel_for(loop_threads, units, std::max<int64_t>(1, g.batch), [&](int64_t begin, int64_t end) {
        for (int64_t u = begin; u < end; ++u) {
            const int64_t chunk = u / g.batch, e = u % g.batch;
            const int64_t r0 = chunk * rows, mr = std::min(rows, g.m - r0);
            // rows r0.. of op(A): rows of A, or columns of A when it is used transposed
            const float* a = g.a + e * g.stride_a + (g.trans_a ? r0 : r0 * g.lda);
            sgemm(g.trans_a, g.trans_b, mr, g.n, g.k, g.alpha, a, g.lda, g.b + e * g.stride_b, g.ldb, g.beta,
                  g.c + e * g.stride_c + r0 * g.ldc, g.ldc);
        }
    });
    return true;
}

}  // namespace

void CpuBackend::gemm(const GemmArgs& g) {
    if (cpu::gemm_narrow(g, loop_threads_)) return;
    if (g.batch > 1 && g.m > 0 && g.n > 0 && g.k > 0) {
        if (g.stride_a == 0 && g.stride_b != 0 && gemm_shared_a(g)) return;
        if (g.stride_b == 0 && g.stride_a != 0 && gemm_shared_b(g)) return;
        if (gemm_row_split(g, loop_threads_)) return;
    }
    for (int64_t i = 0; i < g.batch; ++i)
        sgemm(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, g.a + i * g.stride_a, g.lda, g.b + i * g.stride_b, g.ldb,
              g.beta, g.c + i * g.stride_c, g.ldc);
}


}  // namespace fg
