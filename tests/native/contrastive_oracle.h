// A float64 reference of the contrastive local loss (METHOD.md section 2), written from its definition,
// for the loss and the model tests.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fgtest::contrastive {

using Vec = std::vector<double>;

// mean_p x[image, p, :] of x (images, P, C).
inline Vec pooled(const Vec& x, int64_t image, int64_t P, int64_t C) {
    Vec xbar(C, 0.0);
    for (int64_t p = 0; p < P; ++p)
        for (int64_t c = 0; c < C; ++c) xbar[c] += x[(image * P + p) * C + c] / double(P);
    return xbar;
}

// normalize(xbar W + b), W (C, D).
inline Vec embed(const Vec& xbar, const Vec& w, const Vec& b) {
    const size_t C = xbar.size(), D = b.size();
    Vec z(b.begin(), b.end());
    for (size_t c = 0; c < C; ++c)
        for (size_t j = 0; j < D; ++j) z[j] += xbar[c] * w[c * D + j];
    double norm = 0;
    for (double v : z) norm += v * v;
    norm = std::sqrt(norm);
    for (double& v : z) v /= norm;
    return z;
}

// InfoNCE of view-1 embedding e1 of image n against every view-2 embedding: the positive is column n.
inline double pair_loss(const Vec& e1, int64_t n, const std::vector<Vec>& e2, double t) {
    Vec logits;
    for (const Vec& e : e2) {
        double dot = 0;
        for (size_t j = 0; j < e1.size(); ++j) dot += e1[j] * e[j];
        logits.push_back(dot / t);
    }
    const double mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (double l : logits) sum += std::exp(l - mx);
    return mx + std::log(sum) - logits[n];
}

// Batch-mean loss of B pairs: view 1 is images 0..B-1 of x1 through head (w1, b1); view 2 is images
// B..2B-1 of x2 through head (w2, b2). A stop-gradient on view 2 is x2, w2, b2 held fixed.
inline double batch_loss(int64_t B, int64_t P, int64_t C, double t, const Vec& x1, const Vec& w1, const Vec& b1,
                         const Vec& x2, const Vec& w2, const Vec& b2) {
    std::vector<Vec> e2;
    for (int64_t n = 0; n < B; ++n) e2.push_back(embed(pooled(x2, B + n, P, C), w2, b2));
    double total = 0;
    for (int64_t n = 0; n < B; ++n) total += pair_loss(embed(pooled(x1, n, P, C), w1, b1), n, e2, t);
    return total / double(B);
}

}  // namespace fgtest::contrastive
