// CUDA GEMM through cuBLAS. Row-major C = A B is column-major C^T = B^T A^T, so A and B swap.
#include "cuda_backend.h"

namespace fg {

void CudaBackend::gemm(const GemmArgs& g) {
    if (g.m == 0 || g.n == 0 || g.batch == 0) return;
    const DeviceGuard guard(device_);
    const cublasOperation_t op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (g.batch == 1) {
        FG_CUBLAS_CHECK(cublasSgemm(cublas_, op_b, op_a, static_cast<int>(g.n), static_cast<int>(g.m),
                                    static_cast<int>(g.k), &g.alpha, g.b, static_cast<int>(g.ldb), g.a,
                                    static_cast<int>(g.lda), &g.beta, g.c, static_cast<int>(g.ldc)));
        return;
    }
    FG_CUBLAS_CHECK(cublasSgemmStridedBatched(
        cublas_, op_b, op_a, static_cast<int>(g.n), static_cast<int>(g.m), static_cast<int>(g.k), &g.alpha, g.b,
        static_cast<int>(g.ldb), g.stride_b, g.a, static_cast<int>(g.lda), g.stride_a, &g.beta, g.c,
        static_cast<int>(g.ldc), g.stride_c, static_cast<int>(g.batch)));
}

}  // namespace fg
