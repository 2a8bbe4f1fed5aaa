// Parity of the element-wise and reduction ops: LayerNorm, perturbed ReLU, the fused local loss,
// the FG-A / FG-W estimators and the optimizers.
#include <algorithm>

#include "parity.h"

namespace parity {

// Buffer ops move bytes: exact.
void suite_buffers(const Env& env) {
    Twin src(env, uniform(4099, 1)), dst(env, uniform(4099, 2));
    Row r("fg_buffer_copy/fill", "4099 f32: copy 1000 B +40->+12, fill 17 at 5");
    if (r.run([&](int s) {
            fg_status st = fg_buffer_copy(dst[s], 12, src[s], 40, 1000);
            return st != FG_OK ? st : fg_buffer_fill_f32(dst[s], 5, 17, 2.5f);
        }))
        r.check("dst", dst, 0, 0);
    report(r);
}

// LayerNorm rows hold ~dim values of |x| <= 4; outputs are O(1) (rstd up to 1/sqrt(eps) = 316 for
// dim 1). Two-pass means in FP32: rtol 1e-4, atol 2e-5.
void suite_layernorm(const Env& env) {
    const int64_t shapes[][2] = {{1, 1}, {7, 5}, {129, 64}, {256, 300}, {1000, 32}};
    uint32_t seed = 200;
    for (const auto& sh : shapes) {
        const int64_t R = sh[0], D = sh[1], K = 3;
        // X (R, D) -> Y (R, D), mean (R), rstd (R)
        Twin X(env, uniform(R * D, seed++, 3.0f, 1.0f)), Y(env, R * D * 4), M(env, R * 4), S(env, R * 4);
        Row f("fg_layernorm_forward", dims({R, D}));
        if (f.run([&](int s) { return fg_layernorm_forward(env.ctx[s], R, D, X[s], Y[s], M[s], S[s]); })) {
            f.check("y", Y, 1e-4, 2e-5);
            f.check("mean", M, 1e-4, 2e-5);
            f.check("rstd", S, 1e-4, 2e-5);
        }
        report(f);
        // Feed both backends the CPU's forward output so the JVP/VJP rows test only themselves.
        Y.set(Y.get(CPU).data());
        S.set(S.get(CPU).data());

        // xdot (K, R, D) -> ydot (K, R, D)
        Twin XD(env, uniform(K * R * D, seed++)), YD(env, K * R * D * 4);
        Row j("fg_layernorm_jvp", dims({K, R, D}));
        if (j.run([&](int s) { return fg_layernorm_jvp(env.ctx[s], R, D, K, Y[s], S[s], XD[s], YD[s]); }))
            j.check("ydot", YD, 1e-4, 2e-5 * std::max(1.0, max_abs(YD.get(CPU))));
        report(j);

        // dY (R, D) -> dX (R, D)
        Twin DY(env, uniform(R * D, seed++)), DX(env, R * D * 4);
        Row v("fg_layernorm_vjp", dims({R, D}));
        if (v.run([&](int s) { return fg_layernorm_vjp(env.ctx[s], R, D, Y[s], S[s], DY[s], DX[s]); }))
            v.check("dx", DX, 1e-4, 2e-5 * std::max(1.0, max_abs(DX.get(CPU))));
        report(v);
    }
}

// ReLU is a mask and up to three adds per element: 1e-6 covers a different add order.
void suite_relu(const Env& env) {
    struct Case {
        int64_t count, K;
        bool residual, zdot, u, resdot;
    };
    const Case cases[] = {{1031, 0, true, false, false, false},
                          {1031, 3, true, true, true, true},
                          {65537, 2, false, true, false, false},
                          {4096, 1, true, false, true, false}};
    uint32_t seed = 300;
    for (const Case& c : cases) {
        const int64_t n = c.count, K = c.K;
        std::string label = "count " + std::to_string(n) + " K" + std::to_string(K) + (c.residual ? " res" : "") +
                            (c.zdot ? " zdot" : "") + (c.u ? " u" : "") + (c.resdot ? " resdot" : "");
        const int64_t kn = std::max<int64_t>(K, 1) * n;
        // Z, Res, A (n); zdot, u, resdot, adot (K, n)
        Twin Z(env, uniform(n, seed++)), RES(env, uniform(n, seed++)), ZD(env, uniform(kn, seed++)),
            U(env, uniform(kn, seed++)), RD(env, uniform(kn, seed++)), A(env, n * 4), AD(env, kn * 4);
        Row r("fg_relu_jvp", label);
        if (r.run([&](int s) {
                return fg_relu_jvp(env.ctx[s], n, K, Z[s], c.residual ? RES[s] : nullptr, c.zdot ? ZD[s] : nullptr,
                                   c.u ? U[s] : nullptr, c.resdot ? RD[s] : nullptr, A[s], K ? AD[s] : nullptr);
            })) {
            r.check("a", A, 1e-6, 1e-6);
            if (K) r.check("adot", AD.get(GPU), AD.get(CPU), 1e-6, 1e-6);
        }
        report(r);

        A.set(A.get(CPU).data());  // the same mask on both sides
        Twin DA(env, uniform(n, seed++)), DZ(env, n * 4);
        Row b("fg_relu_backward", "count " + std::to_string(n));
        if (b.run([&](int s) { return fg_relu_backward(env.ctx[s], n, A[s], DA[s], DZ[s]); })) b.check("dz", DZ, 0, 0);
        report(b);
    }
}

// Local loss: logits sum C products (atol 2e-5 sqrt(C)); d, dw, dx are reductions with cancellation,
// judged relative to the output's largest magnitude (1e-4 of it).
void suite_local_loss(const Env& env) {
    struct Case {
        int64_t B, P, C, G, N, K;
    };
    const Case cases[] = {{1, 1, 2, 1, 2, 1}, {7, 3, 12, 3, 5, 0}, {6, 5, 24, 4, 10, 3}, {32, 64, 128, 8, 10, 4}};
    uint32_t seed = 400;
    for (const Case& c : cases) {
        const int64_t B = c.B, P = c.P, C = c.C, G = c.G, N = c.N, K = c.K;
        std::vector<int32_t> labels(B);
        for (int64_t n = 0; n < B; ++n) labels[n] = int32_t((n * 7 + 3) % N);
        // X (B, P, C), xdot (K, B, P, C), W (C, N), b (N), labels (B)
        Twin X(env, uniform(B * P * C, seed++)), XD(env, uniform(std::max<int64_t>(K, 1) * B * P * C, seed++)),
            W(env, uniform(C * N, seed++, 0.5f)), Bb(env, uniform(N, seed++)), L(env, labels);
        // loss (B), logits (B, N), d (K, B, P, G), dw (C, N), db (N), dx (B, P, C)
        Twin loss(env, B * 4), logits(env, B * N * 4), d(env, std::max<int64_t>(K, 1) * B * P * G * 4),
            dw(env, C * N * 4), db(env, N * 4), dx(env, B * P * C * 4);
        Row r("fg_local_loss", "B" + std::to_string(B) + " P" + std::to_string(P) + " C" + std::to_string(C) + " G" +
                                   std::to_string(G) + " N" + std::to_string(N) + " K" + std::to_string(K));
        if (r.run([&](int s) {
                return fg_local_loss(env.ctx[s], B, P, C, G, N, K, X[s], K ? XD[s] : nullptr, W[s], Bb[s], L[s],
                                     loss[s], logits[s], K ? d[s] : nullptr, dw[s], db[s], dx[s]);
            })) {
            const double a = 2e-5 * std::sqrt(double(C));
            r.check("loss", loss, 1e-4, a);
            r.check("logits", logits, 1e-4, a);
            if (K) r.check("d", d, 1e-4, 1e-4 * max_abs(d.get(CPU)) + 1e-12);
            r.check("dw", dw, 1e-4, 1e-4 * max_abs(dw.get(CPU)) + 1e-12);
            r.check("db", db, 1e-4, 1e-4 * max_abs(db.get(CPU)) + 1e-12);
            r.check("dx", dx, 1e-4, 1e-4 * max_abs(dx.get(CPU)) + 1e-12);
        }
        report(r);
    }
}

namespace {

const char* kind_name(int32_t kind) {
    return kind == FG_LAYER_DENSE ? "dense" : kind == FG_LAYER_GROUP ? "group" : "token";
}

void fga_case(const Env& env, int32_t kind, int32_t mode, int64_t B, int64_t P, int64_t C, int64_t G, int64_t n_in,
              int64_t lg, uint32_t seed) {
    const int64_t K = 3, R = B * P;
    const int64_t wn = kind == FG_LAYER_TOKEN ? P * P : n_in * C / lg, bn = kind == FG_LAYER_TOKEN ? P : C;
    // A group layer's LN is per group: (R*lg, C/lg) rows.
    const int64_t ln_rows = kind == FG_LAYER_GROUP ? R * lg : R, ln_dim = C / (kind == FG_LAYER_GROUP ? lg : 1);
    std::vector<float> act = uniform(R * C, seed + 1);
    for (float& a : act) a = std::max(a, 0.0f);  // a ReLU output: about half the units inactive
    // u (K, B, P, C), act (B, P, C), d (K, B, P, G), zln (B, P, C), rstd (ln_rows), x (R, n_in)
    Twin U(env, uniform(K * R * C, seed)), ACT(env, act), D(env, uniform(K * R * G, seed + 2)),
        Z(env, uniform(R * C, seed + 3, 3.0f)), ZLN(env, R * C * 4), MEAN(env, ln_rows * 4), RSTD(env, ln_rows * 4),
        X(env, uniform(R * n_in, seed + 4)), WS(env, R * C * 4), DW(env, wn * 4), DB(env, bn * 4);
    // zln and rstd from the CPU's LayerNorm, identical on both sides.
    fg_layernorm_forward(env.ctx[CPU], ln_rows, ln_dim, Z[CPU], ZLN[CPU], MEAN[CPU], RSTD[CPU]);
    ZLN.set(ZLN.get(CPU).data());
    RSTD.set(RSTD.get(CPU).data());
    const char* scale = mode == FG_SCALE_GROUP ? "group" : mode == FG_SCALE_PATCH ? "patch" : "global";
    Row r("fg_fga_weight_grad", std::string(kind_name(kind)) + "/" + scale + " B" + std::to_string(B) + " P" +
                                    std::to_string(P) + " C" + std::to_string(C) + " G" + std::to_string(G) + " in" +
                                    std::to_string(n_in) + " lg" + std::to_string(lg) + " K3");
    if (r.run([&](int s) {
            return fg_fga_weight_grad(env.ctx[s], kind, mode, B, P, C, G, n_in, lg, K, U[s], ACT[s], D[s], ZLN[s],
                                      RSTD[s], X[s], WS[s], DW[s], DB[s], 0);
        })) {
        r.check("dw", DW, 1e-4, 1e-4 * max_abs(DW.get(CPU)) + 1e-12);
        r.check("db", DB, 1e-4, 1e-4 * max_abs(DB.get(CPU)) + 1e-12);
    }
    report(r);
}

void fgw_case(const Env& env, int32_t mode, int64_t count, int64_t cols, int64_t G, int64_t rows, int32_t accumulate,
              uint32_t seed) {
    const int64_t K = 4;
    // v (K, count), d (K, rows, G), grad (count)
    Twin V(env, uniform(K * count, seed)), D(env, uniform(K * rows * G, seed + 1)), GR(env, uniform(count, seed + 2));
    if (!accumulate) GR.poison();
    const char* name = mode == FG_WSLICE_COLUMNS ? "columns" : mode == FG_WSLICE_LEADING ? "leading" : "all";
    Row r("fg_fgw_grad", std::string(name) + " count " + std::to_string(count) + " cols " + std::to_string(cols) +
                             " G" + std::to_string(G) + " rows " + std::to_string(rows) + " K4 acc" +
                             std::to_string(accumulate));
    if (r.run([&](int s) { return fg_fgw_grad(env.ctx[s], mode, count, cols, G, rows, K, V[s], D[s], GR[s], accumulate); }))
        r.check("grad", GR, 1e-4, 1e-4 * max_abs(GR.get(CPU)) + 1e-12);
    report(r);
}

}  // namespace

void suite_estimators(const Env& env) {
    uint32_t seed = 500;
    for (int32_t mode : {FG_SCALE_GROUP, FG_SCALE_PATCH, FG_SCALE_GLOBAL}) {
        // Small (B3 P4 C8 G2) and M/8/16-like (B8 P16 C64 G4) problems of each layer kind.
        fga_case(env, FG_LAYER_DENSE, mode, 3, 4, 8, 2, 5, 1, seed += 10);
        fga_case(env, FG_LAYER_GROUP, mode, 3, 4, 8, 2, 6, 2, seed += 10);
        fga_case(env, FG_LAYER_TOKEN, mode, 3, 4, 8, 2, 8, 4, seed += 10);
        fga_case(env, FG_LAYER_DENSE, mode, 8, 16, 64, 4, 48, 1, seed += 10);
        fga_case(env, FG_LAYER_GROUP, mode, 8, 16, 64, 4, 64, 4, seed += 10);
        fga_case(env, FG_LAYER_TOKEN, mode, 8, 16, 64, 4, 64, 16, seed += 10);
    }
    fgw_case(env, FG_WSLICE_COLUMNS, 24, 6, 3, 5, 0, seed += 10);
    fgw_case(env, FG_WSLICE_LEADING, 12, 6, 3, 37, 0, seed += 10);
    fgw_case(env, FG_WSLICE_ALL, 7, 7, 3, 1, 0, seed += 10);
    fgw_case(env, FG_WSLICE_COLUMNS, 512 * 512, 512, 16, 1600, 0, seed += 10);
    fgw_case(env, FG_WSLICE_LEADING, 16 * 32 * 32, 32, 16, 1600, 1, seed += 10);
    fgw_case(env, FG_WSLICE_ALL, 512, 512, 16, 1600, 1, seed += 10);
}

// Three steps of each optimizer over tensors of 1, 1031 and 65536 elements (decay on, off, on).
// Element-wise updates: rtol 1e-5, atol 1e-6.
void suite_optimizer(const Env& env) {
    struct Case {
        const char* name;
        fg_optimizer_params hp;
    };
    auto sgd = [](float momentum, float wd, int32_t decoupled) {
        fg_optimizer_params p{};
        p.size = sizeof p, p.kind = FG_OPT_SGD, p.lr = 0.05f, p.momentum = momentum, p.weight_decay = wd,
        p.decoupled = decoupled;
        return p;
    };
    fg_optimizer_params adam{};
    adam.size = sizeof adam, adam.kind = FG_OPT_ADAMW, adam.lr = 1e-3f, adam.weight_decay = 0.01f, adam.beta1 = 0.9f,
    adam.beta2 = 0.999f, adam.eps = 1e-8f;
    const Case cases[] = {{"sgd momentum 0.9 wd 5e-4 L2", sgd(0.9f, 5e-4f, 0)},
                          {"sgd momentum 0.9 wd 5e-4 decoupled", sgd(0.9f, 5e-4f, 1)},
                          {"adamw lr 1e-3 wd 0.01", adam}};
    const int64_t sizes[3] = {1, 1031, 65536};
    const int32_t decay[3] = {1, 0, 1};
    uint32_t seed = 600;
    for (const Case& c : cases) {
        const bool is_adam = c.hp.kind == FG_OPT_ADAMW;
        std::vector<Twin> p, g, s1, s2;
        for (int64_t n : sizes) {
            p.emplace_back(env, uniform(n, seed++));
            g.emplace_back(env, n * 4);
            s1.emplace_back(env, std::vector<float>(n, 0.0f));
            s2.emplace_back(env, std::vector<float>(n, 0.0f));
        }
        Row r("fg_optimizer_step", std::string(c.name) + " 3 steps");
        for (int64_t step = 1; step <= 3 && r.pass; ++step) {
            for (auto& t : g) t.set(uniform(t.bytes / 4, seed++, 1.5f).data());
            fg_optimizer_params hp = c.hp;
            hp.step = step;
            r.run([&](int s) {
                fg_buffer *hp_[3], *hg[3], *h1[3], *h2[3];
                for (int i = 0; i < 3; ++i) hp_[i] = p[i][s], hg[i] = g[i][s], h1[i] = s1[i][s], h2[i] = s2[i][s];
                return fg_optimizer_step(env.ctx[s], &hp, 3, hp_, hg, h1, is_adam ? h2 : nullptr, decay);
            });
        }
        if (r.pass)
            for (int i = 0; i < 3; ++i) {
                const std::string t = "tensor" + std::to_string(i);
                r.check(t + ".param", p[i], 1e-5, 1e-6);
                r.check(t + ".state1", s1[i], 1e-5, 1e-6);
                if (is_adam) r.check(t + ".state2", s2[i], 1e-5, 1e-9);
            }
        report(r);
    }
}

}  // namespace parity
