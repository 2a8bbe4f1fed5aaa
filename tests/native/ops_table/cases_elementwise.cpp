// Element-wise and row-wise ops: buffer copy / fill (exact), fg_random_normal (within 1e-6 of the
// documented double formula), LayerNorm forward / JVP / VJP, the perturbed ReLU and its backward.
#include <cmath>

#include "cases_util.h"
#include "oracle.h"

namespace optable {

namespace {

Case buffers_case() {
    Case c;
    c.op = "fg_buffer_copy/fill";
    c.shape = "4099 f32: copy 1000 B +40->+12, fill 17 at 5";
    c.cost = {0, 2000.0 + 68.0};
    c.make = [] {
        Problem p;
        const int S = p.input("src", uniform(4099, 1)), D = p.output("dst", uniform(4099, 2));
        p.call = [=](fg_context*, const Buffers& b) {
            const fg_status s = fg_buffer_copy(b[D], 12, b[S], 40, 1000);
            return s != FG_OK ? s : fg_buffer_fill_f32(b[D], 5, 17, 2.5f);
        };
        p.oracle = [=](const Problem& pr) {
            Expect e{D, {}, {}, 0, 0};
            for (float v : pr.f(D)) e.want.push_back(v);
            for (int i = 0; i < 250; ++i) e.want[size_t(3 + i)] = pr.f(S)[size_t(10 + i)];
            for (int i = 0; i < 17; ++i) e.want[size_t(5 + i)] = 2.5;
            return std::vector<Expect>{e};
        };
        return p;
    };
    return c;
}

Case normal_case(uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor) {
    Case c;
    c.op = "fg_random_normal";
    c.shape = "count " + std::to_string(count) + " step " + std::to_string(step) + " tensor " + std::to_string(tensor);
    c.cost = {0, 4.0 * double(count)};
    c.make = [=] {
        Problem p;
        const int O = p.output("out", size_t(count));
        p.call = [=](fg_context* ctx, const Buffers& b) { return fg_random_normal(ctx, b[O], count, seed, step, tensor); };
        p.oracle = [=](const Problem&) {
            Expect e{O, {}, sample(size_t(count), size_t(1) << 21), 1e-6, 1e-6};
            for (size_t i : e.at) e.want.push_back(double(float(oracle::normal(seed, step, tensor, i))));
            return std::vector<Expect>{e};
        };
        return p;
    };
    return c;
}

std::vector<float> to_float(const oracle::Vec& v) { return std::vector<float>(v.begin(), v.end()); }
oracle::Vec to_double(const std::vector<float>& v) { return oracle::Vec(v.begin(), v.end()); }

std::vector<float> patterned_ln_input(int64_t R, int64_t D, uint32_t seed) { return ln_input(R, D, seed); }

Case ln_forward_case(int64_t R, int64_t D, std::vector<float> (*input)(int64_t, int64_t, uint32_t), uint32_t seed) {
    Case c;
    c.op = "fg_layernorm_forward";
    c.shape = dims({R, D});
    c.cost = {8.0 * R * D, 4.0 * (2 * R * D + 2 * R)};
    c.make = [=] {
        Problem p;
        const int X = p.input("x", input(R, D, seed));
        const int Y = p.output("y", size_t(R * D)), M = p.output("mean", size_t(R)), S = p.output("rstd", size_t(R));
        p.call = [=](fg_context* ctx, const Buffers& b) { return fg_layernorm_forward(ctx, R, D, b[X], b[Y], b[M], b[S]); };
        p.oracle = [=](const Problem& pr) {
            oracle::Vec y, mean, rstd;
            oracle::ln_forward(to_double(pr.f(X)), D, y, mean, rstd);
            // A single element normalises to exactly 0.
            return std::vector<Expect>{{Y, y, {}, D == 1 ? 0 : 1e-4, D == 1 ? 0 : 2e-5},
                                       {M, mean, {}, 1e-5, 1e-5},
                                       {S, rstd, {}, 1e-4, 1e-5}};
        };
        return p;
    };
    return c;
}

std::vector<float> uniform_ln_input(int64_t R, int64_t D, uint32_t seed) { return uniform(R * D, seed, 3.0f, 1.0f); }

// JVP (K tangents) or VJP (K = 0: one cotangent) of LayerNorm at the oracle's forward output.
Case ln_derivative_case(int64_t R, int64_t D, int64_t K, uint32_t seed) {
    Case c;
    const bool jvp = K > 0;
    const int64_t T = jvp ? K : 1;
    c.op = jvp ? "fg_layernorm_jvp" : "fg_layernorm_vjp";
    c.shape = jvp ? dims({K, R, D}) : dims({R, D});
    c.cost = {6.0 * T * R * D, 4.0 * ((2 * T + 1) * R * D + R)};
    c.make = [=] {
        Problem p;
        oracle::Vec y, mean, rstd;
        oracle::ln_forward(to_double(uniform(R * D, seed, 3.0f, 1.0f)), D, y, mean, rstd);
        const int Y = p.input("y", to_float(y)), S = p.input("rstd", to_float(rstd));
        const int T_ = p.input(jvp ? "xdot" : "dy", uniform(T * R * D, seed + 1));
        const int O = p.output(jvp ? "ydot" : "dx", size_t(T * R * D));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return jvp ? fg_layernorm_jvp(ctx, R, D, K, b[Y], b[S], b[T_], b[O])
                       : fg_layernorm_vjp(ctx, R, D, b[Y], b[S], b[T_], b[O]);
        };
        p.oracle = [=](const Problem& pr) {
            oracle::Vec want = oracle::ln_vjp(to_double(pr.f(Y)), to_double(pr.f(S)), to_double(pr.f(T_)), D);
            const double scale = std::max(1.0, max_abs(want));
            return std::vector<Expect>{{O, want, {}, 1e-4, 2e-5 * scale}};
        };
        return p;
    };
    return c;
}

Case relu_jvp_case(int64_t n, int64_t K, bool res, bool zdot, bool u, bool rdot, uint32_t seed, double atol) {
    Case c;
    c.op = "fg_relu_jvp";
    c.shape = "count " + std::to_string(n) + " K" + std::to_string(K) + (res ? " res" : "") + (zdot ? " zdot" : "") +
              (u ? " u" : "") + (rdot ? " resdot" : "");
    const int64_t kn = std::max<int64_t>(K, 1) * n;
    c.cost = {double(K * n * 3 + n), 4.0 * (n * (res ? 3 : 2) + K * n * (1 + zdot + u + rdot))};
    c.make = [=] {
        Problem p;
        const int Z = p.input("z", uniform(n, seed)), RES = p.input("res", uniform(n, seed + 1));
        const int ZD = p.input("zdot", uniform(kn, seed + 2)), U = p.input("u", uniform(kn, seed + 3));
        const int RD = p.input("resdot", uniform(kn, seed + 4));
        const int A = p.output("a", size_t(n)), AD = p.output("adot", size_t(kn));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return fg_relu_jvp(ctx, n, K, b[Z], res ? b[RES] : nullptr, zdot ? b[ZD] : nullptr, u ? b[U] : nullptr,
                               rdot ? b[RD] : nullptr, b[A], b[AD]);
        };
        p.oracle = [=](const Problem& pr) {
            const std::vector<float> a = oracle::relu_primal(pr.f(Z), res ? &pr.f(RES) : nullptr);
            std::vector<Expect> out{{A, to_double(a), {}, 0, 0}};
            if (K == 0) return out;
            Expect ad{AD, {}, {}, 1e-6, atol};
            for (int64_t k = 0; k < K; ++k)
                for (int64_t i = 0; i < n; ++i) {
                    const size_t j = size_t(k * n + i);
                    const double t = (zdot ? double(pr.f(ZD)[j]) : 0.0) + (u ? double(pr.f(U)[j]) : 0.0) +
                                     (rdot ? double(pr.f(RD)[j]) : 0.0);
                    ad.want.push_back(a[size_t(i)] > 0.0f ? t : 0.0);
                }
            out.push_back(ad);
            return out;
        };
        return p;
    };
    return c;
}

// dZ = [A > 0] dA, out of place or in place over dA.
Case relu_backward_case(int64_t n, bool in_place, uint32_t seed) {
    Case c;
    c.op = "fg_relu_backward";
    c.shape = "count " + std::to_string(n) + (in_place ? " in place" : "");
    c.cost = {double(n), 12.0 * n};
    c.make = [=] {
        Problem p;
        const int A = p.input("a", oracle::relu_primal(uniform(n, seed), nullptr));  // about half exact zeros
        const int DA = in_place ? p.output("da", uniform(n, seed + 1)) : p.input("da", uniform(n, seed + 1));
        const int DZ = in_place ? DA : p.output("dz", size_t(n));
        p.call = [=](fg_context* ctx, const Buffers& b) { return fg_relu_backward(ctx, n, b[A], b[DA], b[DZ]); };
        p.oracle = [=](const Problem& pr) {
            Expect e{DZ, {}, {}, 0, 0};
            for (int64_t i = 0; i < n; ++i) e.want.push_back(pr.f(A)[size_t(i)] > 0.0f ? pr.f(DA)[size_t(i)] : 0.0);
            return std::vector<Expect>{e};
        };
        return p;
    };
    return c;
}

}  // namespace

void add_elementwise_cases(std::vector<Case>& t) {
    t.push_back(buffers_case());

    const uint64_t doc_seed = 0xfedcba9876543210ull;
    for (uint64_t count : {1u, 3u, 4u, 5u, 1001u, 65537u}) t.push_back(normal_case(count, doc_seed, 0xdeadbeef, 17));
    t.push_back(normal_case(7, 42, 3, 9));
    t.push_back(normal_case(1u << 20, 42, 3, 1));
    t.push_back(normal_case((1u << 20) + 3, 0x123456789abcdefull, 77, 5));
    t.push_back(benchmarked(normal_case(1u << 24, 42, 3, 1), "random_normal/n16M"));

    uint32_t seed = 1;
    for (int64_t dim : {1, 3, 17, 512, 2049})
        for (int64_t rows : {1, 5, 300}) t.push_back(ln_forward_case(rows, dim, patterned_ln_input, seed++));
    seed = 200;
    const int64_t ln_shapes[][2] = {{1, 1}, {7, 5}, {129, 64}, {256, 300}, {1000, 32}};
    for (const auto& s : ln_shapes) {
        t.push_back(ln_forward_case(s[0], s[1], uniform_ln_input, seed++));
        t.push_back(ln_derivative_case(s[0], s[1], 3, seed++));
        t.push_back(ln_derivative_case(s[0], s[1], 0, seed++));
    }
    // M/8/16 at batch 100: 6400 rows of 512 (and per group, 102400 rows of 32), K = 4.
    t.push_back(benchmarked(ln_forward_case(6400, 512, uniform_ln_input, 300), "layernorm_forward/M8_16/B100"));
    t.push_back(benchmarked(ln_forward_case(102400, 32, uniform_ln_input, 301), "layernorm_forward/M8_16_groups/B100"));
    t.push_back(benchmarked(ln_derivative_case(6400, 512, 4, 302), "layernorm_jvp/M8_16/B100/K4"));
    t.push_back(benchmarked(ln_derivative_case(6400, 512, 0, 303), "layernorm_vjp/M8_16/B100"));

    seed = 1;
    for (int64_t count : {1, 7, 1000, 4099})
        for (int64_t K : {0, 1, 3})
            for (int mask = 0; mask < 16; ++mask)
                t.push_back(relu_jvp_case(count, K, mask & 1, mask & 2, mask & 4, mask & 8, seed += 5, 5e-7));
    t.push_back(relu_jvp_case(1031, 0, true, false, false, false, 300, 1e-6));
    t.push_back(relu_jvp_case(65537, 2, false, true, false, false, 310, 1e-6));
    t.push_back(relu_jvp_case(4096, 1, true, false, true, false, 320, 1e-6));
    t.push_back(benchmarked(relu_jvp_case(6400 * 512, 4, true, true, true, false, 330, 1e-6), "relu_jvp/M8_16/B100/K4"));
    seed = 50;
    for (int64_t count : {1, 7, 1000, 4099, 65537})
        for (bool in_place : {false, true}) t.push_back(relu_backward_case(count, in_place, seed += 2));
    t.push_back(benchmarked(relu_backward_case(6400 * 512, false, 340), "relu_backward/M8_16/B100"));
}

}  // namespace optable
