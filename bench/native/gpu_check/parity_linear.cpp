// Parity of fg_gemm, fg_random_normal, fg_linear_jvp and fg_linear_backward.
// Tolerances: FP32 sums of `depth` products of values in [-1, 1] carry rounding error that grows
// about like sqrt(depth); atol = 2e-5 * sqrt(depth) is ~30x what a different summation order gives.
#include "parity.h"

namespace parity {

void suite_gemm(const Env& env) {
    struct Case {
        int64_t m, n, k;
        int ta, tb;
        float beta;
    };
    // Size 1, odd sizes across tile edges (all four transposes, beta 0 and not), the S/1/1 layer,
    // and one large square.
    std::vector<Case> cases = {{1, 1, 1, 0, 0, 0.0f}, {100, 256, 784, 0, 0, 0.0f}, {100, 784, 256, 0, 1, 0.0f},
                               {784, 256, 100, 1, 0, 0.0f}, {1024, 1024, 1024, 0, 0, 0.0f}};
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
            for (float beta : {0.0f, 0.5f}) cases.push_back({65, 129, 257, ta, tb, beta});
    uint32_t seed = 1;
    for (const Case& c : cases) {
        Row r("fg_gemm", dims({c.m, c.n, c.k}) + " ta" + std::to_string(c.ta) + " tb" + std::to_string(c.tb) +
                             " beta" + (c.beta == 0 ? "0" : "0.5"));
        Twin A(env, uniform(c.m * c.k, seed++)), B(env, uniform(c.k * c.n, seed++)), C(env, uniform(c.m * c.n, seed++));
        if (c.beta == 0) C.poison();  // beta = 0 must ignore NaNs in C
        if (r.run([&](int s) { return fg_gemm(env.ctx[s], c.ta, c.tb, c.m, c.n, c.k, 1.5f, A[s], B[s], c.beta, C[s]); }))
            r.check("c", C, 1e-4, 3e-5 * std::sqrt(double(c.k)));
        report(r);
    }
}

void suite_random(const Env& env) {
    // Same Philox stream on both; the math library calls (double log, float sqrt/cos/sin) may differ in
    // their last bits.
    struct Case {
        uint64_t count, seed;
        uint32_t step, tensor;
    };
    const Case cases[] = {{1, 0, 0, 0}, {7, 42, 3, 9}, {(1u << 20) + 3, 0x123456789abcdefull, 77, 5}};
    for (const Case& c : cases) {
        Row r("fg_random_normal", "count " + std::to_string(c.count) + " step " + std::to_string(c.step) + " tensor " +
                                      std::to_string(c.tensor));
        Twin out(env, c.count * 4);
        if (r.run([&](int s) { return fg_random_normal(env.ctx[s], out[s], c.count, c.seed, c.step, c.tensor); }))
            r.check("out", out, 1e-6, 1e-6);
        report(r);
    }
}

namespace {

struct Layer {
    int32_t kind;
    int64_t rows, n, m, groups;
};

const char* kind_name(int32_t kind) {
    return kind == FG_LAYER_DENSE ? "dense" : kind == FG_LAYER_GROUP ? "group" : "token";
}
int64_t weight_count(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.groups * l.groups : l.n * l.m / l.groups; }
int64_t bias_count(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.groups : l.m; }
// Products summed per output of the forward pass, of dX, and of dW/db.
int64_t depth_y(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.groups : l.n / l.groups; }
int64_t depth_dx(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.groups : l.m / l.groups; }
int64_t depth_dw(const Layer& l) { return l.kind == FG_LAYER_TOKEN ? l.rows / l.groups * l.n : l.rows; }

std::string layer_label(const Layer& l) {
    return std::string(kind_name(l.kind)) + " R" + std::to_string(l.rows) + " " + std::to_string(l.n) + "->" +
           std::to_string(l.m) + " g" + std::to_string(l.groups);
}

// Odd sizes and tile edges of each kind, plus paper-sized layers (S/1/1, M/1/16, M/8/16 token).
const Layer kLayers[] = {
    {FG_LAYER_DENSE, 1, 1, 1, 1},      {FG_LAYER_DENSE, 129, 300, 17, 1},   {FG_LAYER_DENSE, 256, 784, 256, 1},
    {FG_LAYER_GROUP, 129, 60, 300, 3}, {FG_LAYER_GROUP, 200, 512, 512, 16}, {FG_LAYER_TOKEN, 21, 5, 5, 7},
    {FG_LAYER_TOKEN, 256, 96, 96, 64},
};

}  // namespace

void suite_linear(const Env& env) {
    uint32_t seed = 100;
    struct Variant {
        int64_t K;
        bool wdot, bias;
    };
    const Variant variants[] = {{0, false, true}, {1, false, false}, {1, true, true}, {4, false, true}, {4, true, true}};
    for (const Layer& l : kLayers)
        for (const Variant& v : variants) {
            // XX ((K+1)*R, n), W, b (m), Wdot (K, |W|), YY ((K+1)*R, m)
            const int64_t K = v.K, wc = weight_count(l);
            Row r("fg_linear_jvp", layer_label(l) + " K" + std::to_string(K) + (v.wdot ? " wdot" : "") +
                                       (v.bias ? " b" : ""));
            Twin XX(env, uniform((K + 1) * l.rows * l.n, seed++)), W(env, uniform(wc, seed++)),
                B(env, uniform(bias_count(l), seed++)), WD(env, uniform(std::max<int64_t>(K, 1) * wc, seed++)),
                YY(env, (K + 1) * l.rows * l.m * 4);
            if (r.run([&](int s) {
                    return fg_linear_jvp(env.ctx[s], l.kind, l.rows, l.n, l.m, l.groups, K, XX[s], W[s],
                                         v.bias ? B[s] : nullptr, v.wdot ? WD[s] : nullptr, YY[s]);
                }))
                r.check("yy", YY, 1e-4, (v.wdot ? 4e-5 : 2e-5) * std::sqrt(double(depth_y(l))) + 1e-6);
            report(r);
        }

    for (const Layer& l : kLayers)
        for (int32_t accumulate : {0, 1}) {
            // X (R, n), dY (R, m) -> dX (R, n), dW (+)= X^T dY, db (+)= sum dY
            Row r("fg_linear_backward", layer_label(l) + " acc" + std::to_string(accumulate));
            const int64_t wc = weight_count(l), bc = bias_count(l);
            Twin X(env, uniform(l.rows * l.n, seed++)), W(env, uniform(wc, seed++)), DY(env, uniform(l.rows * l.m, seed++)),
                DX(env, l.rows * l.n * 4), DW(env, uniform(wc, seed++)), DB(env, uniform(bc, seed++));
            if (!accumulate) DW.poison(), DB.poison();
            if (r.run([&](int s) {
                    return fg_linear_backward(env.ctx[s], l.kind, l.rows, l.n, l.m, l.groups, X[s], W[s], DY[s], DX[s],
                                              DW[s], DB[s], accumulate);
                })) {
                r.check("dx", DX, 1e-4, 2e-5 * std::sqrt(double(depth_dx(l))) + 1e-6);
                r.check("dw", DW, 1e-4, 2e-5 * std::sqrt(double(depth_dw(l))) + 1e-6);
                r.check("db", DB, 1e-4, 2e-5 * std::sqrt(double(depth_dw(l))) + 1e-6);
            }
            report(r);
        }
}

}  // namespace parity
