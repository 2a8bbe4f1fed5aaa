// The fused local loss (closed form: softmax minus one-hot through the head) and the two forward-gradient
// estimators, FG-A (fg_fga_weight_grad, every layer kind and scale mode) and FG-W (fg_fgw_grad, every
// slice mode). Reductions with cancellation are judged relative to the output's largest magnitude.
#include <algorithm>
#include <array>
#include <cmath>

#include "../contrastive_oracle.h"
#include "cases_util.h"
#include "oracle.h"

namespace optable {

namespace {

std::vector<float> to_float(const oracle::Vec& v) { return std::vector<float>(v.begin(), v.end()); }

Case local_loss_case(int64_t B, int64_t P, int64_t C, int64_t G, int64_t N, int64_t K, uint32_t seed) {
    Case c;
    c.op = "fg_local_loss";
    c.shape = "B" + std::to_string(B) + " P" + std::to_string(P) + " C" + std::to_string(C) + " G" + std::to_string(G) +
              " N" + std::to_string(N) + " K" + std::to_string(K);
    c.cost = {2.0 * B * P * C * (K + 1) + 6.0 * B * C * N, 4.0 * ((K + 2) * B * P * C + K * B * P * G + 2 * C * N)};
    c.make = [=] {
        Problem p;
        std::vector<int32_t> labels(static_cast<size_t>(B));
        for (int64_t n = 0; n < B; ++n) labels[size_t(n)] = int32_t((n * 7 + 3) % N);
        const int X = p.input("x", uniform(B * P * C, seed));
        const int XD = p.input("xdot", uniform(std::max<int64_t>(K, 1) * B * P * C, seed + 1));
        const int W = p.input("w", uniform(C * N, seed + 2, 0.5f)), Bb = p.input("b", uniform(N, seed + 3, 0.5f));
        const int L = p.input("labels", labels);
        const int LOSS = p.output("loss", size_t(B)), LOGITS = p.output("logits", size_t(B * N));
        const int D = p.output("d", size_t(std::max<int64_t>(K, 1) * B * P * G));
        const int DW = p.output("dw", size_t(C * N)), DB = p.output("db", size_t(N)), DX = p.output("dx", size_t(B * P * C));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return fg_local_loss(ctx, B, P, C, G, N, K, b[X], K ? b[XD] : nullptr, b[W], b[Bb], b[L], b[LOSS],
                                 b[LOGITS], K ? b[D] : nullptr, b[DW], b[DB], b[DX]);
        };
        p.oracle = [=](const Problem& pr) {
            const oracle::LocalLoss o = oracle::local_loss(B, P, C, G, N, K, pr.f(X), pr.f(XD), pr.f(W), pr.f(Bb),
                                                           pr.arrays[size_t(L)].i);
            auto relative = [](int array, const oracle::Vec& want) {
                return Expect{array, want, {}, 1e-4, 1e-4 * max_abs(want) + 1e-12};
            };
            std::vector<Expect> out{{LOSS, o.loss, {}, 1e-5, 1e-5},
                                    {LOGITS, o.logits, {}, 1e-5, 1e-5 * std::sqrt(double(C))},
                                    relative(DW, o.dw), relative(DB, o.db), relative(DX, o.dx)};
            if (K) out.push_back(relative(D, o.d));
            return out;
        };
        return p;
    };
    return c;
}

// The contrastive local loss on B pairs (2B images: view 1, then view 2): the per-pair loss against the
// float64 definition; d, dw, db and dx (finite differences in test_contrastive_loss.cpp) across backends.
Case contrastive_case(int64_t B, int64_t P, int64_t C, int64_t G, int64_t D, int64_t K, uint32_t seed) {
    Case c;
    c.op = "fg_contrastive_loss";
    c.shape = "B" + std::to_string(B) + " P" + std::to_string(P) + " C" + std::to_string(C) + " G" + std::to_string(G) +
              " D" + std::to_string(D) + " K" + std::to_string(K);
    const int64_t images = 2 * B;
    c.cost = {2.0 * images * P * C * (K + 1) + 6.0 * images * C * D + 4.0 * B * B * D,
              4.0 * ((K + 2) * images * P * C + K * images * P * G + 2 * C * D)};
    c.make = [=] {
        Problem p;
        const int X = p.input("x", uniform(images * P * C, seed));
        const int XD = p.input("xdot", uniform(std::max<int64_t>(K, 1) * images * P * C, seed + 1));
        const int W = p.input("w", uniform(C * D, seed + 2, 0.5f)), Bb = p.input("b", uniform(D, seed + 3));
        const int LOSS = p.output("loss", size_t(B)), DD = p.output("d", size_t(std::max<int64_t>(K, 1) * images * P * G));
        const int DW = p.output("dw", size_t(C * D)), DB = p.output("db", size_t(D)), DX = p.output("dx", size_t(images * P * C));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return fg_contrastive_loss(ctx, B, P, C, G, D, K, FG_CONTRASTIVE_TEMPERATURE, b[X], K ? b[XD] : nullptr, b[W],
                                       b[Bb], b[LOSS], K ? b[DD] : nullptr, b[DW], b[DB], b[DX]);
        };
        p.oracle = [=](const Problem& pr) {
            namespace ct = fgtest::contrastive;
            const std::vector<float> xf = pr.f(X), wf = pr.f(W), bf = pr.f(Bb);
            const oracle::Vec x(xf.begin(), xf.end()), w(wf.begin(), wf.end()), bias(bf.begin(), bf.end());
            std::vector<oracle::Vec> e2;
            for (int64_t n = 0; n < B; ++n) e2.push_back(ct::embed(ct::pooled(x, B + n, P, C), w, bias));
            oracle::Vec pair_losses(static_cast<size_t>(B));
            for (int64_t n = 0; n < B; ++n)
                pair_losses[static_cast<size_t>(n)] = ct::pair_loss(ct::embed(ct::pooled(x, n, P, C), w, bias), n, e2, FG_CONTRASTIVE_TEMPERATURE);
            std::vector<Expect> out{{LOSS, pair_losses, {}, 1e-4, 2e-5 * std::sqrt(double(C))},
                                    {DW, {}, {}, 1e-4, 1e-4, true}, {DB, {}, {}, 1e-4, 1e-4, true},
                                    {DX, {}, {}, 1e-4, 1e-4, true}};
            if (K) out.push_back({DD, {}, {}, 1e-4, 1e-4, true});
            return out;
        };
        return p;
    };
    return c;
}

const char* scale_name(int32_t mode) {
    return mode == FG_SCALE_GROUP ? "group" : mode == FG_SCALE_PATCH ? "patch" : "global";
}

enum class Fga { overwrite, accumulate, db_only };

Case fga_case(const oracle::FgaProblem& pr, Fga variant, uint32_t seed, bool relative_tolerance) {
    Case c;
    const int64_t K = 3, R = pr.B * pr.P, C = pr.C;
    const oracle::Layer layer = pr.layer();
    c.op = "fg_fga_weight_grad";
    c.shape = std::string(kind_name(pr.kind)) + "/" + scale_name(pr.mode) + " B" + std::to_string(pr.B) + " P" +
              std::to_string(pr.P) + " C" + std::to_string(C) + " G" + std::to_string(pr.G) + " in" +
              std::to_string(pr.n_in) + " lg" + std::to_string(pr.lg) + " K3" +
              (variant == Fga::accumulate ? " accumulate" : variant == Fga::db_only ? " db only" : "");
    c.cost = {2.0 * K * R * C + 10.0 * R * C + 2.0 * layer.flops(), 4.0 * ((K + 4) * R * C + R * pr.n_in + layer.weights())};
    c.make = [=] {
        Problem p;
        std::vector<float> act = uniform(R * C, seed + 1);
        for (float& a : act) a = std::max(a, 0.0f);  // a ReLU output: about half the units inactive
        oracle::Vec zln, mean, rstd;
        const std::vector<float> z = uniform(R * C, seed + 3, 3.0f);
        oracle::ln_forward(oracle::Vec(z.begin(), z.end()), pr.ln_dim(), zln, mean, rstd);
        const int U = p.input("u", uniform(K * R * C, seed)), ACT = p.input("act", act);
        const int D = p.input("d", uniform(K * R * pr.G, seed + 2));
        const int ZLN = p.input("zln", to_float(zln)), RSTD = p.input("rstd", to_float(rstd));
        const int X = p.input("x", uniform(R * pr.n_in, seed + 4));
        const int WS = p.output("workspace", size_t(R * C));
        const bool acc = variant == Fga::accumulate;
        const int DW = acc ? p.output("dw", uniform(layer.weights(), seed + 5)) : p.output("dw", size_t(layer.weights()));
        const int DB = acc ? p.output("db", uniform(layer.biases(), seed + 6)) : p.output("db", size_t(layer.biases()));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return fg_fga_weight_grad(ctx, pr.kind, pr.mode, pr.B, pr.P, C, pr.G, pr.n_in, pr.lg, K, b[U], b[ACT], b[D],
                                      b[ZLN], b[RSTD], b[X], b[WS], variant == Fga::db_only ? nullptr : b[DW], b[DB],
                                      acc ? 1 : 0);
        };
        p.oracle = [=](const Problem& q) {
            oracle::Vec dw, db;
            oracle::fga(pr, 0, K, q.f(U), q.f(ACT), q.f(D), q.f(ZLN), q.f(RSTD), q.f(X), dw, db);
            if (acc) {
                for (size_t i = 0; i < dw.size(); ++i) dw[i] += q.f(DW)[i];
                for (size_t i = 0; i < db.size(); ++i) db[i] += q.f(DB)[i];
            }
            // A token layer's db sums LN-VJP rows, which sum to zero: judged on dW's scale, not its own.
            const double scale = std::max(max_abs(dw), max_abs(db));
            auto tol = [&](int array, const oracle::Vec& want) {
                return relative_tolerance ? Expect{array, want, {}, 1e-4, 1e-4 * scale + 1e-12}
                                          : Expect{array, want, {}, 1e-4, 1e-5};
            };
            std::vector<Expect> out{tol(DB, db)};
            if (variant != Fga::db_only) out.push_back(tol(DW, dw));
            return out;
        };
        return p;
    };
    return c;
}

Case fgw_case(int32_t mode, int64_t count, int64_t cols, int64_t G, int64_t rows, int32_t accumulate, uint32_t seed,
              bool relative_tolerance) {
    Case c;
    const int64_t K = 4;
    const char* name = mode == FG_WSLICE_COLUMNS ? "columns" : mode == FG_WSLICE_LEADING ? "leading" : "all";
    c.op = "fg_fgw_grad";
    c.shape = std::string(name) + " count " + std::to_string(count) + " cols " + std::to_string(cols) + " G" +
              std::to_string(G) + " rows " + std::to_string(rows) + " K4 acc" + std::to_string(accumulate);
    c.cost = {2.0 * K * count + double(K * rows * G), 4.0 * (K * count + K * rows * G + (1 + accumulate) * count)};
    c.make = [=] {
        Problem p;
        const int V = p.input("v", uniform(K * count, seed)), D = p.input("d", uniform(K * rows * G, seed + 1));
        const int GR = accumulate ? p.output("grad", uniform(count, seed + 2)) : p.output("grad", size_t(count));
        p.call = [=](fg_context* ctx, const Buffers& b) {
            return fg_fgw_grad(ctx, mode, count, cols, G, rows, K, b[V], b[D], b[GR], accumulate);
        };
        p.oracle = [=](const Problem& q) {
            oracle::Vec want = oracle::fgw(mode, count, cols, G, rows, 0, K, q.f(V), q.f(D));
            if (accumulate)
                for (int64_t e = 0; e < count; ++e) want[size_t(e)] += q.f(GR)[size_t(e)];
            return std::vector<Expect>{relative_tolerance ? Expect{GR, want, {}, 1e-4, 1e-4 * max_abs(want) + 1e-12}
                                                          : Expect{GR, want, {}, 1e-5, 1e-5}};
        };
        return p;
    };
    return c;
}

}  // namespace

void add_loss_cases(std::vector<Case>& t) {
    const int64_t losses[][6] = {{1, 1, 2, 1, 2, 1},  {7, 3, 12, 3, 5, 0},  {6, 5, 24, 4, 10, 3}, {32, 64, 128, 8, 10, 4},
                                 {1, 1, 1, 1, 2, 1},  {3, 4, 12, 3, 5, 3},  {5, 9, 40, 8, 10, 2}, {2, 3, 64, 1, 1000, 1},
                                 {2, 16, 96, 32, 10, 1}, {4, 2, 33, 11, 7, 0}};
    uint32_t seed = 400;
    for (const auto& s : losses) t.push_back(local_loss_case(s[0], s[1], s[2], s[3], s[4], s[5], seed += 10));
    t.push_back(benchmarked(local_loss_case(100, 64, 512, 16, 10, 4, 450), "local_loss/M8_16/B100/K4"));

    seed = 500;
    using P = oracle::FgaProblem;
    for (int32_t mode : {FG_SCALE_GROUP, FG_SCALE_PATCH, FG_SCALE_GLOBAL}) {
        // B3 P4 C8 G2 of each kind, in all three variants, and M/8/16-like problems (B8 P16 C64 G4).
        const P small[] = {{FG_LAYER_DENSE, mode, 3, 4, 8, 2, 5, 1}, {FG_LAYER_GROUP, mode, 3, 4, 8, 2, 6, 2},
                           {FG_LAYER_TOKEN, mode, 3, 4, 8, 2, 8, 4}};
        for (const P& pr : small)
            for (Fga v : {Fga::overwrite, Fga::accumulate, Fga::db_only}) t.push_back(fga_case(pr, v, seed += 10, false));
        const P larger[] = {{FG_LAYER_DENSE, mode, 8, 16, 64, 4, 48, 1}, {FG_LAYER_GROUP, mode, 8, 16, 64, 4, 64, 4},
                            {FG_LAYER_TOKEN, mode, 8, 16, 64, 4, 64, 16}};
        for (const P& pr : larger) t.push_back(fga_case(pr, Fga::overwrite, seed += 10, true));
    }
    t.push_back(benchmarked(fga_case({FG_LAYER_GROUP, FG_SCALE_GROUP, 100, 64, 512, 16, 512, 16}, Fga::overwrite, 590, true),
                            "fga_weight_grad/M8_16/group/B100/K3"));

    for (int32_t mode : {FG_WSLICE_COLUMNS, FG_WSLICE_LEADING, FG_WSLICE_ALL})
        for (int64_t rows : {1, 5})
            for (int32_t acc : {0, 1}) {
                const int64_t count = mode == FG_WSLICE_ALL ? 7 : mode == FG_WSLICE_LEADING ? 12 : 24;
                t.push_back(fgw_case(mode, count, 6, 3, rows, acc, seed += 10, false));
            }
    t.push_back(fgw_case(FG_WSLICE_LEADING, 12, 6, 3, 37, 0, seed += 10, true));
    t.push_back(fgw_case(FG_WSLICE_COLUMNS, 512 * 512, 512, 16, 1600, 0, seed += 10, true));
    t.push_back(fgw_case(FG_WSLICE_LEADING, 16 * 32 * 32, 32, 16, 1600, 1, seed += 10, true));
    t.push_back(fgw_case(FG_WSLICE_ALL, 512, 512, 16, 1600, 1, seed += 10, true));
    t.push_back(benchmarked(fgw_case(FG_WSLICE_COLUMNS, 512 * 512, 512, 16, 6400, 1, 700, true),
                            "fgw_grad/M8_16/dense_512x512/B100/K4"));

    uint32_t contrastive_seed = 900;
    for (const auto& [B, P, C, G, D, K] : {std::array<int64_t, 6>{1, 1, 2, 1, 3, 1}, std::array<int64_t, 6>{7, 3, 12, 3, 5, 0},
                                           std::array<int64_t, 6>{6, 5, 24, 4, 128, 3}, std::array<int64_t, 6>{64, 16, 128, 8, 128, 4}})
        t.push_back(contrastive_case(B, P, C, G, D, K, contrastive_seed += 10));
}

}  // namespace optable
