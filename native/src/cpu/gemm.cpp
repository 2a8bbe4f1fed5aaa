// CPU GEMM: BLAS (cblas_sgemm) when the build found one, else an internal cache-blocked GEMM.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cpu_backend.h"

#if defined(FG_HAVE_CBLAS)
#include <cblas.h>
#if !defined(_WIN32)
#include <dlfcn.h>
#endif
#endif

namespace fg {

#if defined(FG_HAVE_CBLAS)
namespace {
// OpenBLAS extensions, looked up at run time so any CBLAS links.
template <class F>
F openblas_symbol(const char* name) {
#if defined(_WIN32)
    (void)name;
    return nullptr;
#else
    return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
#endif
}
}  // namespace

const char* cpu_gemm_name() {
    static const std::string name = [] {
        auto config = openblas_symbol<char* (*)()>("openblas_get_config");
        auto threads = openblas_symbol<int (*)()>("openblas_get_num_threads");
        if (config) {
            std::string s = config();  // "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
            while (!s.empty() && s.back() == ' ') s.pop_back();
            return s;
        }
        (void)threads;
        return std::string("CBLAS (") + FG_BLAS_VENDOR + ")";
    }();
    return name.c_str();
}

void cpu_gemm_set_threads(int32_t threads) {
    if (auto set = openblas_symbol<void (*)(int)>("openblas_set_num_threads")) set(threads);
}

void CpuBackend::gemm(const GemmArgs& g) {
    for (int64_t i = 0; i < g.batch; ++i) {
        cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), g.alpha,
                    g.a + i * g.stride_a, static_cast<int>(g.lda), g.b + i * g.stride_b, static_cast<int>(g.ldb),
                    g.beta, g.c + i * g.stride_c, static_cast<int>(g.ldc));
    }
}

#else  // internal GEMM

const char* cpu_gemm_name() { return "internal blocked GEMM (no BLAS found at build time)"; }
void cpu_gemm_set_threads(int32_t) {}

namespace {
constexpr int64_t kBlockM = 64, kBlockN = 256, kBlockK = 256;

// C (m, n) = alpha * A B + beta * C for one batch entry, by blocks: op(A) and op(B) blocks are
// packed row-major so the inner loop runs over contiguous memory and vectorises.
void gemm_one(const GemmArgs& g, const float* A, const float* B, float* C) {
    std::vector<float> pa(kBlockM * kBlockK), pb(kBlockK * kBlockN);
    auto a_at = [&](int64_t i, int64_t p) { return g.trans_a ? A[p * g.lda + i] : A[i * g.lda + p]; };
    auto b_at = [&](int64_t p, int64_t j) { return g.trans_b ? B[j * g.ldb + p] : B[p * g.ldb + j]; };
    for (int64_t i = 0; i < g.m; ++i) {
        float* row = C + i * g.ldc;
        if (g.beta == 0.0f)
            std::fill(row, row + g.n, 0.0f);
        else if (g.beta != 1.0f)
            for (int64_t j = 0; j < g.n; ++j) row[j] *= g.beta;
    }
    for (int64_t j0 = 0; j0 < g.n; j0 += kBlockN) {
        int64_t nb = std::min(kBlockN, g.n - j0);
        for (int64_t p0 = 0; p0 < g.k; p0 += kBlockK) {
            int64_t kb = std::min(kBlockK, g.k - p0);
            for (int64_t p = 0; p < kb; ++p)
                for (int64_t j = 0; j < nb; ++j) pb[p * nb + j] = b_at(p0 + p, j0 + j);
            for (int64_t i0 = 0; i0 < g.m; i0 += kBlockM) {
                int64_t mb = std::min(kBlockM, g.m - i0);
                for (int64_t i = 0; i < mb; ++i)
                    for (int64_t p = 0; p < kb; ++p) pa[i * kb + p] = g.alpha * a_at(i0 + i, p0 + p);
                for (int64_t i = 0; i < mb; ++i) {
                    float* crow = C + (i0 + i) * g.ldc + j0;
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
}  // namespace

void CpuBackend::gemm(const GemmArgs& g) {
    for (int64_t i = 0; i < g.batch; ++i) gemm_one(g, g.a + i * g.stride_a, g.b + i * g.stride_b, g.c + i * g.stride_c);
}

#endif

}  // namespace fg
