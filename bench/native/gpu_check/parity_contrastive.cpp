// Parity of the fused contrastive local loss (its L2 normalisation kernels included).
#include <algorithm>
#include <cmath>

#include "parity.h"

namespace parity {

// Like the supervised loss: d, dw, dx are reductions with cancellation, judged relative to the output's
// largest magnitude (1e-4 of it).
void suite_contrastive_loss(const Env& env) {
    struct Case {
        int64_t B, P, C, G, D, K;
    };
    const Case cases[] = {{1, 1, 2, 1, 3, 1}, {7, 3, 12, 3, 5, 0}, {6, 5, 24, 4, 128, 3}, {64, 16, 128, 8, 128, 4}};
    uint32_t seed = 900;
    for (const Case& c : cases) {
        const int64_t B = c.B, P = c.P, C = c.C, G = c.G, D = c.D, K = c.K, images = 2 * c.B;
        // X (2B, P, C), xdot (K, 2B, P, C), W (C, D), b (D)
        Twin X(env, uniform(images * P * C, seed++)), XD(env, uniform(std::max<int64_t>(K, 1) * images * P * C, seed++)),
            W(env, uniform(C * D, seed++, 0.5f)), Bb(env, uniform(D, seed++));
        // loss (B), d (K, 2B, P, G), dw (C, D), db (D), dx (2B, P, C)
        Twin loss(env, B * 4), d(env, std::max<int64_t>(K, 1) * images * P * G * 4), dw(env, C * D * 4),
            db(env, D * 4), dx(env, images * P * C * 4);
        Row r("fg_contrastive_loss", "B" + std::to_string(B) + " P" + std::to_string(P) + " C" + std::to_string(C) +
                                         " G" + std::to_string(G) + " D" + std::to_string(D) + " K" + std::to_string(K));
        if (r.run([&](int s) {
                return fg_contrastive_loss(env.ctx[s], B, P, C, G, D, K, 0.5f, X[s], K ? XD[s] : nullptr, W[s], Bb[s],
                                           loss[s], K ? d[s] : nullptr, dw[s], db[s], dx[s]);
            })) {
            r.check("loss", loss, 1e-4, 2e-5 * std::sqrt(double(C)));
            if (K) r.check("d", d, 1e-4, 1e-4 * max_abs(d.get(CPU)) + 1e-12);
            r.check("dw", dw, 1e-4, 1e-4 * max_abs(dw.get(CPU)) + 1e-12);
            r.check("db", db, 1e-4, 1e-4 * max_abs(db.get(CPU)) + 1e-12);
            r.check("dx", dx, 1e-4, 1e-4 * max_abs(dx.get(CPU)) + 1e-12);
        }
        report(r);
    }
}

}  // namespace parity
