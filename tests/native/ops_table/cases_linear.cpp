// Linear layers (dense, group, token mixing): fg_linear_jvp (K stacked tangents, with and without weight
// tangents and bias) and fg_linear_backward (overwrite and accumulate) over sizes 1, odd sizes and tile
// edges; and, at the paper's layer shapes (S/1/1, M/1/16, M/8/16, L/8/64; batch 100 and 256), the
// benchmark entries: the fused JVP, the same work as K+1 separate calls, one plain GEMM of the stacked
// shape, and a backprop layer step.
// Tolerances: float32 sums of `depth` products of values in [-1, 1] carry rounding error that grows about
// like sqrt(depth); atol is a multiple of 1e-5 * sqrt(depth), far above what a different order gives.
#include <cmath>
#include <memory>

#include "cases_util.h"
#include "oracle.h"

namespace optable {

namespace {

using oracle::Layer;

std::string layer_label(const Layer& l) {
    return std::string(kind_name(l.kind)) + " R" + std::to_string(l.rows) + " " + std::to_string(l.n) + "->" +
           std::to_string(l.m) + " g" + std::to_string(l.groups);
}

// Y = XX W (+ b on the primal stack), tangent k adds X Wdot_k: the sampled elements of YY.
Expect jvp_expect(const Layer& l, int64_t K, int yy, const std::vector<float>& xx, const std::vector<float>& w,
                  const float* b, const float* wdot, double atol_per_sqrt_depth, double atol_floor) {
    const int64_t xs = l.rows * l.n, ys = l.rows * l.m;
    Expect e{yy, {}, sample_for(size_t((K + 1) * ys), l.depth_y() * (wdot ? 2 : 1)), 1e-4,
             atol_per_sqrt_depth * std::sqrt(double(l.depth_y())) + atol_floor};
    for (size_t idx : e.at) {
        const int64_t k = int64_t(idx) / ys, yi = int64_t(idx) % ys;
        double v = l.y(xx.data() + k * xs, w.data(), k == 0 ? b : nullptr, yi);
        if (k > 0 && wdot) v += l.y(xx.data(), wdot + (k - 1) * l.weights(), nullptr, yi);
        e.want.push_back(v);
    }
    return e;
}

Case jvp_case(const Layer& l, int64_t K, bool wdot, bool bias, uint32_t seed, double atol, double floor) {
    Case c;
    c.op = "fg_linear_jvp";
    c.shape = layer_label(l) + " K" + std::to_string(K) + (wdot ? " wdot" : "") + (bias ? " b" : "");
    const double passes = double(K + 1) + (wdot ? double(K) : 0.0);
    c.cost = {passes * l.flops(), 4.0 * ((K + 1) * l.rows * (l.n + l.m) + (wdot ? K + 1 : 1) * l.weights())};
    c.make = [=] {
        Problem p;
        const int XX = p.input("xx", uniform((K + 1) * l.rows * l.n, seed));
        const int W = p.input("w", uniform(l.weights(), seed + 1));
        const int B = p.input("b", uniform(l.biases(), seed + 2));
        const int WD = p.input("wdot", uniform(std::max<int64_t>(K, 1) * l.weights(), seed + 3));
        const int YY = p.output("yy", size_t((K + 1) * l.rows * l.m));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return fg_linear_jvp(ctx, l.kind, l.rows, l.n, l.m, l.groups, K, b[XX], b[W], bias ? b[B] : nullptr,
                                 wdot ? b[WD] : nullptr, b[YY]);
        };
        p.oracle = [=](const Problem& pr) {
            return std::vector<Expect>{jvp_expect(l, K, YY, pr.f(XX), pr.f(W), bias ? pr.f(B).data() : nullptr,
                                                  wdot ? pr.f(WD).data() : nullptr, atol, floor)};
        };
        return p;
    };
    return c;
}

// dX, dW, db of the layer at the sampled elements; dW / db plus their initial contents when accumulating.
std::vector<Expect> backward_expects(const Layer& l, const Problem& pr, int X, int W, int DY, int DX, int DW, int DB,
                                     bool accumulate, double atol_per_sqrt_depth, double floor) {
    const float *x = pr.f(X).data(), *w = pr.f(W).data(), *dy = pr.f(DY).data();
    const double row_tol = atol_per_sqrt_depth * std::sqrt(double(l.depth_dw())) + floor;
    Expect dx{DX, {}, sample_for(size_t(l.rows * l.n), l.depth_dx()), 1e-4,
              atol_per_sqrt_depth * std::sqrt(double(l.depth_dx())) + floor};
    Expect dw{DW, {}, sample_for(size_t(l.weights()), l.depth_dw()), 1e-4, row_tol};
    Expect db{DB, {}, sample_for(size_t(l.biases()), l.depth_dw()), 1e-4, row_tol};
    for (size_t i : dx.at) dx.want.push_back(l.dx(w, dy, int64_t(i)));
    for (size_t i : dw.at) dw.want.push_back(l.dw(x, dy, int64_t(i)) + (accumulate ? pr.f(DW)[i] : 0.0));
    for (size_t i : db.at) db.want.push_back(l.db(dy, int64_t(i)) + (accumulate ? pr.f(DB)[i] : 0.0));
    return {dx, dw, db};
}

Case backward_case(const Layer& l, int32_t accumulate, uint32_t seed, double atol, double floor) {
    Case c;
    c.op = "fg_linear_backward";
    c.shape = layer_label(l) + " acc" + std::to_string(accumulate);
    c.cost = {2.0 * l.flops(), 4.0 * (2 * l.rows * (l.n + l.m) + 2 * l.weights())};
    c.make = [=] {
        Problem p;
        const int X = p.input("x", uniform(l.rows * l.n, seed)), W = p.input("w", uniform(l.weights(), seed + 1));
        const int DY = p.input("dy", uniform(l.rows * l.m, seed + 2));
        const int DX = p.output("dx", size_t(l.rows * l.n));
        const int DW = accumulate ? p.output("dw", uniform(l.weights(), seed + 3)) : p.output("dw", size_t(l.weights()));
        const int DB = accumulate ? p.output("db", uniform(l.biases(), seed + 4)) : p.output("db", size_t(l.biases()));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return fg_linear_backward(ctx, l.kind, l.rows, l.n, l.m, l.groups, b[X], b[W], b[DY], b[DX], b[DW], b[DB],
                                      accumulate);
        };
        p.oracle = [=](const Problem& pr) {
            return backward_expects(l, pr, X, W, DY, DX, DW, DB, accumulate != 0, atol, floor);
        };
        return p;
    };
    return c;
}

// ---------------------------------------------------------------- the paper's layers (benchmarks)

struct PaperLayer {
    const char* config;
    const char* name;
    int32_t kind;
    int64_t patches, n, m, groups;
    Layer at(int64_t batch) const { return {kind, batch * patches, n, m, groups}; }
};

const PaperLayer kPaperLayers[] = {
    {"S1_1", "dense_784x256", FG_LAYER_DENSE, 1, 784, 256, 1},
    {"M1_16", "dense_784x512", FG_LAYER_DENSE, 1, 784, 512, 1},
    {"M1_16", "group_512_G16", FG_LAYER_GROUP, 1, 512, 512, 16},
    {"M8_16", "dense_48x512", FG_LAYER_DENSE, 64, 48, 512, 1},
    {"M8_16", "dense_512x512", FG_LAYER_DENSE, 64, 512, 512, 1},
    {"M8_16", "group_512_G16", FG_LAYER_GROUP, 64, 512, 512, 16},
    {"M8_16", "token_P64_C512", FG_LAYER_TOKEN, 64, 512, 512, 64},
    {"L8_64", "dense_2048x2048", FG_LAYER_DENSE, 64, 2048, 2048, 1},
    {"L8_64", "group_2048_G64", FG_LAYER_GROUP, 64, 2048, 2048, 64},
    {"L8_64", "token_P64_C2048", FG_LAYER_TOKEN, 64, 2048, 2048, 64},
};

// The K+1 passes of a fused JVP as K+1 calls of the K = 0 op (the bias on the primal pass only).
Case separate_case(const Layer& l, int64_t K, uint32_t seed) {
    Case c;
    c.op = "linear_separate";
    c.shape = layer_label(l) + " K" + std::to_string(K) + " as K+1 calls";
    c.cost = {double(K + 1) * l.flops(), 4.0 * ((K + 1) * (l.rows * (l.n + l.m) + l.weights()))};
    c.make = [=] {
        Problem p;
        const int W = p.input("w", uniform(l.weights(), seed)), B = p.input("b", uniform(l.biases(), seed + 1));
        std::vector<int> xs, ys;
        for (int64_t k = 0; k <= K; ++k) xs.push_back(p.input("x" + std::to_string(k), uniform(l.rows * l.n, seed + 2 + uint32_t(k))));
        for (int64_t k = 0; k <= K; ++k) ys.push_back(p.output("y" + std::to_string(k), size_t(l.rows * l.m)));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            for (int64_t k = 0; k <= K; ++k) {
                const fg_status s = fg_linear_jvp(ctx, l.kind, l.rows, l.n, l.m, l.groups, 0, b[xs[size_t(k)]], b[W],
                                                  k == 0 ? b[B] : nullptr, nullptr, b[ys[size_t(k)]]);
                if (s != FG_OK) return s;
            }
            return fg_status(FG_OK);
        };
        p.oracle = [=](const Problem& pr) {
            std::vector<Expect> out;
            for (int64_t k = 0; k <= K; ++k)
                out.push_back(jvp_expect(l, 0, ys[size_t(k)], pr.f(xs[size_t(k)]), pr.f(W),
                                         k == 0 ? pr.f(B).data() : nullptr, nullptr, 4e-5, 1e-6));
            return out;
        };
        return p;
    };
    return c;
}

// A backprop layer step: the forward pass (K = 0) and the backward pass (dX, dW, db).
Case backprop_case(const Layer& l, uint32_t seed) {
    Case c;
    c.op = "linear_backprop";
    c.shape = layer_label(l) + " forward + backward";
    c.cost = {3.0 * l.flops(), 4.0 * (3 * l.rows * (l.n + l.m) + 3 * l.weights())};
    c.make = [=] {
        Problem p;
        const int X = p.input("x", uniform(l.rows * l.n, seed)), W = p.input("w", uniform(l.weights(), seed + 1));
        const int B = p.input("b", uniform(l.biases(), seed + 2)), DY = p.input("dy", uniform(l.rows * l.m, seed + 3));
        const int Y = p.output("y", size_t(l.rows * l.m)), DX = p.output("dx", size_t(l.rows * l.n));
        const int DW = p.output("dw", size_t(l.weights())), DB = p.output("db", size_t(l.biases()));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            const fg_status s = fg_linear_jvp(ctx, l.kind, l.rows, l.n, l.m, l.groups, 0, b[X], b[W], b[B], nullptr, b[Y]);
            return s != FG_OK ? s
                              : fg_linear_backward(ctx, l.kind, l.rows, l.n, l.m, l.groups, b[X], b[W], b[DY], b[DX],
                                                   b[DW], b[DB], 0);
        };
        p.oracle = [=](const Problem& pr) {
            std::vector<Expect> out = backward_expects(l, pr, X, W, DY, DX, DW, DB, false, 4e-5, 1e-6);
            out.push_back(jvp_expect(l, 0, Y, pr.f(X), pr.f(W), pr.f(B).data(), nullptr, 4e-5, 1e-6));
            return out;
        };
        return p;
    };
    return c;
}

// One plain fg_gemm of the fused JVP's stacked shape: dense ((K+1)R x n x m), group one block
// ((K+1)R x n/G x m/G), token W^T (P x (K+1)S*C x P).
Case blas_case(const Layer& l, int64_t K, uint32_t seed) {
    const int64_t stacked = (K + 1) * l.rows;
    if (l.kind == FG_LAYER_TOKEN)
        return gemm_case(FG_TRANS, FG_NO_TRANS, l.groups, stacked / l.groups * l.n, l.groups, 1.0f, 0.0f, seed);
    return gemm_case(FG_NO_TRANS, FG_NO_TRANS, stacked, l.m / l.groups, l.n / l.groups, 1.0f, 0.0f, seed);
}

void add_paper_layers(std::vector<Case>& t) {
    uint32_t seed = 5000;
    auto bench = [](Case c, const char* family, const std::string& rest) {
        c.parity = false;
        c.bench_family = family;
        c.bench_rest = rest;
        return c;
    };
    for (const PaperLayer& pl : kPaperLayers)
        for (int64_t batch : {100, 256}) {
            const Layer l = pl.at(batch);
            const std::string shape = std::string(pl.config) + "/" + pl.name + "/B" + std::to_string(batch);
            t.push_back(bench(backprop_case(l, seed += 10), "BM_LinearBackprop", shape));
            for (int64_t K : {1, 2, 4, 8}) {
                const std::string rest = shape + "/K" + std::to_string(K);
                Case fused = bench(jvp_case(l, K, false, true, seed += 10, 4e-5, 1e-6), "BM_LinearJvp", rest);
                fused.bench_loop_threads = l.kind == FG_LAYER_GROUP;
                t.push_back(fused);
                t.push_back(bench(jvp_case(l, K, true, true, seed += 10, 4e-5, 1e-6), "BM_LinearJvpWdot", rest));
                t.push_back(bench(separate_case(l, K, seed += 10), "BM_LinearSeparate", rest));
                t.push_back(bench(blas_case(l, K, seed += 10), "BM_LinearBlas", rest));
            }
        }
}

}  // namespace

void add_linear_cases(std::vector<Case>& t) {
    // Sizes 1, odd, and larger than a GEMM tile; widths 1..300 (atol 8e-5 sqrt(depth)).
    const Layer small[] = {
        {FG_LAYER_DENSE, 1, 1, 1, 1},      {FG_LAYER_DENSE, 7, 5, 3, 1},      {FG_LAYER_DENSE, 129, 300, 17, 1},
        {FG_LAYER_DENSE, 33, 64, 257, 1},  {FG_LAYER_GROUP, 1, 2, 2, 2},      {FG_LAYER_GROUP, 7, 48, 32, 16},
        {FG_LAYER_GROUP, 129, 60, 300, 3}, {FG_LAYER_GROUP, 5, 9, 6, 1},      {FG_LAYER_TOKEN, 1, 1, 1, 1},
        {FG_LAYER_TOKEN, 21, 5, 5, 7},     {FG_LAYER_TOKEN, 128, 33, 33, 64}, {FG_LAYER_TOKEN, 129, 300, 300, 3},
    };
    // Paper-sized layers: S/1/1, M/1/16, M/8/16 token (atol 2e-5 sqrt(depth), 4e-5 with weight tangents).
    const Layer paper[] = {{FG_LAYER_DENSE, 256, 784, 256, 1}, {FG_LAYER_GROUP, 200, 512, 512, 16},
                           {FG_LAYER_TOKEN, 256, 96, 96, 64}};
    uint32_t seed = 100;
    for (const Layer& l : small)
        for (int64_t K : {0, 1, 3})
            for (bool wdot : {false, true})
                for (bool bias : {false, true})
                    if (K > 0 || !wdot) t.push_back(jvp_case(l, K, wdot, bias, seed += 4, 8e-5, 0));
    for (const Layer& l : paper)
        for (int64_t K : {0, 1, 4})
            for (bool wdot : {false, true})
                if (K > 0 || !wdot) t.push_back(jvp_case(l, K, wdot, true, seed += 4, wdot ? 4e-5 : 2e-5, 1e-6));
    for (const Layer& l : small)
        for (int32_t acc : {0, 1}) t.push_back(backward_case(l, acc, seed += 5, 8e-5, 0));
    for (const Layer& l : paper)
        for (int32_t acc : {0, 1}) t.push_back(backward_case(l, acc, seed += 5, 2e-5, 1e-6));
    for (const Layer& l : paper) {
        t.push_back(separate_case(l, 2, seed += 5));
        t.push_back(backprop_case(l, seed += 5));
    }
    add_paper_layers(t);
}

}  // namespace optable
