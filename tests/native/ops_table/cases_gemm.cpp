// fg_gemm: every transpose pair with beta 0 (a NaN-poisoned C must be ignored) and beta 0.5, over
// sizes 1, odd sizes across tile edges and the S/1/1 layer's shapes; one large square; the peak-rate
// squares the benchmarks compare against.
#include <cmath>

#include "cases_util.h"
#include "oracle.h"

namespace optable {

Case gemm_case(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k, float alpha, float beta, uint32_t seed) {
    Case c;
    c.op = "fg_gemm";
    c.shape = dims({m, n, k}) + " ta" + std::to_string(ta) + " tb" + std::to_string(tb) + " beta" +
              (beta == 0 ? "0" : "0.5");
    c.cost = {2.0 * m * n * k, 4.0 * (m * k + k * n + (beta == 0 ? 1 : 2) * m * n)};
    c.make = [=] {
        Problem p;
        const int A = p.input("a", uniform(m * k, seed)), B = p.input("b", uniform(k * n, seed + 1));
        const int C = beta == 0 ? p.output("c", size_t(m * n)) : p.output("c", uniform(m * n, seed + 2));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return fg_gemm(ctx, ta, tb, m, n, k, alpha, b[A], b[B], beta, b[C]);
        };
        p.oracle = [=](const Problem& pr) {
            Expect e{C, {}, sample_for(size_t(m * n), k), 1e-4, 4e-5 * std::sqrt(double(k))};
            for (size_t idx : e.at)
                e.want.push_back(oracle::gemm_element(ta, tb, m, n, k, alpha, pr.f(A).data(), pr.f(B).data(), beta,
                                                      pr.f(C).data(), int64_t(idx) / n, int64_t(idx) % n));
            return std::vector<Expect>{e};
        };
        return p;
    };
    return c;
}

void add_gemm_cases(std::vector<Case>& t) {
    uint32_t seed = 1;
    const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 1, 33}, {64, 64, 64}, {65, 129, 257}, {100, 256, 784}};
    for (const auto& s : shapes)
        for (int32_t ta = 0; ta < 2; ++ta)
            for (int32_t tb = 0; tb < 2; ++tb)
                for (float beta : {0.0f, 0.5f}) t.push_back(gemm_case(ta, tb, s[0], s[1], s[2], 1.5f, beta, seed += 3));
    // The S/1/1 layer's backward GEMMs and one large square.
    t.push_back(gemm_case(0, 1, 100, 784, 256, 1.5f, 0.0f, seed += 3));
    t.push_back(gemm_case(1, 0, 784, 256, 100, 1.5f, 0.0f, seed += 3));
    t.push_back(gemm_case(0, 0, 1024, 1024, 1024, 1.5f, 0.0f, seed += 3));
    // Peak FP32 rate: one large square per backend class (benchmark only).
    for (int64_t n : {1024, 2048, 4096, 8192}) {
        Case c = gemm_case(0, 0, n, n, n, 1.0f, 0.0f, seed += 3);
        c.parity = false;
        c.bench_family = "BM_GemmSquare";
        c.bench_rest = "n" + std::to_string(n);
        t.push_back(c);
    }
}

}  // namespace optable
