#include "oracle.h"

#include <algorithm>
#include <cmath>

namespace oracle {

double gemm_element(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k, double alpha, const float* a,
                    const float* b, double beta, const float* c, int64_t i, int64_t j) {
    double s = 0;
    for (int64_t p = 0; p < k; ++p) {
        const double av = ta ? a[p * m + i] : a[i * k + p];
        const double bv = tb ? b[j * k + p] : b[p * n + j];
        s += av * bv;
    }
    return alpha * s + (beta == 0 ? 0.0 : beta * c[i * n + j]);
}

// ---------------------------------------------------------------- linear layers
// dense/group: Y[r, g, j] = sum_i X[r, g, i] W[g, i, j] + b[g*go + j];
// token:       Y[s, q, c] = sum_p W[p, q] X[s, p, c] + b[q].

double Layer::y(const float* x, const float* w, const float* b, int64_t yi) const {
    double s = 0;
    if (kind == FG_LAYER_TOKEN) {
        const int64_t P = groups, C = n, c = yi % C, q = (yi / C) % P, smp = yi / (C * P);
        for (int64_t p = 0; p < P; ++p) s += double(w[p * P + q]) * x[(smp * P + p) * C + c];
        return s + (b ? b[q] : 0.0);
    }
    const int64_t gi = n / groups, go = m / groups, r = yi / m, col = yi % m, g = col / go, j = col % go;
    for (int64_t i = 0; i < gi; ++i) s += double(x[r * n + g * gi + i]) * w[(g * gi + i) * go + j];
    return s + (b ? b[col] : 0.0);
}

double Layer::dx(const float* w, const float* dy, int64_t xi) const {
    double s = 0;
    if (kind == FG_LAYER_TOKEN) {
        const int64_t P = groups, C = n, c = xi % C, p = (xi / C) % P, smp = xi / (C * P);
        for (int64_t q = 0; q < P; ++q) s += double(w[p * P + q]) * dy[(smp * P + q) * C + c];
        return s;
    }
    const int64_t gi = n / groups, go = m / groups, r = xi / n, col = xi % n, g = col / gi, i = col % gi;
    for (int64_t j = 0; j < go; ++j) s += double(dy[r * m + g * go + j]) * w[(g * gi + i) * go + j];
    return s;
}

double Layer::dw(const float* x, const float* dy, int64_t wi) const {
    double s = 0;
    if (kind == FG_LAYER_TOKEN) {
        const int64_t P = groups, C = n, S = rows / P, p = wi / P, q = wi % P;
        for (int64_t smp = 0; smp < S; ++smp)
            for (int64_t c = 0; c < C; ++c) s += double(x[(smp * P + p) * C + c]) * dy[(smp * P + q) * C + c];
        return s;
    }
    const int64_t gi = n / groups, go = m / groups, g = wi / (gi * go), i = (wi / go) % gi, j = wi % go;
    for (int64_t r = 0; r < rows; ++r) s += double(x[r * n + g * gi + i]) * dy[r * m + g * go + j];
    return s;
}

double Layer::db(const float* dy, int64_t bi) const {
    double s = 0;
    if (kind == FG_LAYER_TOKEN) {
        const int64_t P = groups, C = n, S = rows / P;
        for (int64_t smp = 0; smp < S; ++smp)
            for (int64_t c = 0; c < C; ++c) s += dy[(smp * P + bi) * C + c];
        return s;
    }
    for (int64_t r = 0; r < rows; ++r) s += dy[r * m + bi];
    return s;
}

Vec Layer::forward(const Vec& x, const Vec& w, const Vec* b) const {
    Vec y(rows * m, 0.0);
    if (kind == FG_LAYER_TOKEN) {
        const int64_t P = groups, C = n, S = rows / P;
        for (int64_t smp = 0; smp < S; ++smp)
            for (int64_t p = 0; p < P; ++p)
                for (int64_t q = 0; q < P; ++q)
                    for (int64_t c = 0; c < C; ++c) y[(smp * P + q) * C + c] += w[p * P + q] * x[(smp * P + p) * C + c];
        if (b)
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < C; ++c) y[r * C + c] += (*b)[r % P];
        return y;
    }
    const int64_t gi = n / groups, go = m / groups;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t g = 0; g < groups; ++g)
            for (int64_t i = 0; i < gi; ++i)
                for (int64_t j = 0; j < go; ++j) y[r * m + g * go + j] += x[r * n + g * gi + i] * w[(g * gi + i) * go + j];
    if (b)
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < m; ++j) y[r * m + j] += (*b)[j];
    return y;
}

void Layer::backward(const Vec& x, const Vec& dy, Vec& dw_out, Vec& db_out) const {
    dw_out.assign(weights(), 0.0);
    db_out.assign(biases(), 0.0);
    if (kind == FG_LAYER_TOKEN) {
        const int64_t P = groups, C = n, S = rows / P;
        for (int64_t smp = 0; smp < S; ++smp)
            for (int64_t p = 0; p < P; ++p)
                for (int64_t q = 0; q < P; ++q)
                    for (int64_t c = 0; c < C; ++c)
                        dw_out[p * P + q] += x[(smp * P + p) * C + c] * dy[(smp * P + q) * C + c];
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < C; ++c) db_out[r % P] += dy[r * C + c];
        return;
    }
    const int64_t gi = n / groups, go = m / groups;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t g = 0; g < groups; ++g)
            for (int64_t i = 0; i < gi; ++i)
                for (int64_t j = 0; j < go; ++j)
                    dw_out[(g * gi + i) * go + j] += x[r * n + g * gi + i] * dy[r * m + g * go + j];
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < m; ++j) db_out[j] += dy[r * m + j];
}

// ---------------------------------------------------------------- LayerNorm

void ln_forward(const Vec& x, int64_t D, Vec& y, Vec& mean, Vec& rstd) {
    const int64_t R = int64_t(x.size()) / D;
    y.resize(x.size());
    mean.resize(R);
    rstd.resize(R);
    for (int64_t r = 0; r < R; ++r) {
        double mu = 0, var = 0;
        for (int64_t i = 0; i < D; ++i) mu += x[r * D + i];
        mu /= double(D);
        for (int64_t i = 0; i < D; ++i) var += (x[r * D + i] - mu) * (x[r * D + i] - mu);
        var /= double(D);
        mean[r] = mu;
        rstd[r] = 1.0 / std::sqrt(var + double(FG_LN_EPS));
        for (int64_t i = 0; i < D; ++i) y[r * D + i] = (x[r * D + i] - mu) * rstd[r];
    }
}

Vec ln_vjp(const Vec& y, const Vec& rstd, const Vec& dy, int64_t D) {
    Vec dx(dy.size());
    const size_t R = rstd.size();
    for (size_t t = 0; t < dy.size() / (R * D); ++t)  // several stacked tangents share y and rstd
        for (size_t r = 0; r < R; ++r) {
            const double* g = dy.data() + (t * R + r) * D;
            double m1 = 0, m2 = 0;
            for (int64_t i = 0; i < D; ++i) m1 += g[i], m2 += y[r * D + i] * g[i];
            m1 /= double(D), m2 /= double(D);
            for (int64_t i = 0; i < D; ++i) dx[(t * R + r) * D + i] = rstd[r] * (g[i] - m1 - y[r * D + i] * m2);
        }
    return dx;
}

std::vector<float> relu_primal(const std::vector<float>& z, const std::vector<float>* res) {
    std::vector<float> a(z.size());
    for (size_t i = 0; i < z.size(); ++i) {
        const float pre = z[i] + (res ? (*res)[i] : 0.0f);
        a[i] = pre > 0.0f ? pre : 0.0f;
    }
    return a;
}

// ---------------------------------------------------------------- local loss

namespace {

// The head on one example's pooled feature: logits = xbar W + b (W is (C, N)), and its softmax minus
// the one-hot label; returns the cross-entropy at `label`.
template <class T>
double head(const Vec& xbar, const T* w, const T* b, int64_t C, int64_t N, int32_t label, Vec& logits, Vec& s) {
    logits.assign(N, 0.0);
    s.assign(N, 0.0);
    double mx = -1e300;
    for (int64_t j = 0; j < N; ++j) {
        logits[j] = b[j];
        for (int64_t c = 0; c < C; ++c) logits[j] += xbar[c] * w[c * N + j];
        mx = std::max(mx, logits[j]);
    }
    double se = 0;
    for (int64_t j = 0; j < N; ++j) se += std::exp(logits[j] - mx);
    for (int64_t j = 0; j < N; ++j) s[j] = std::exp(logits[j] - mx) / se - (j == label ? 1.0 : 0.0);
    return mx + std::log(se) - logits[label];
}

}  // namespace

LocalLoss local_loss(int64_t B, int64_t P, int64_t C, int64_t G, int64_t N, int64_t K, const std::vector<float>& x,
                     const std::vector<float>& xdot, const std::vector<float>& w, const std::vector<float>& b,
                     const std::vector<int32_t>& labels) {
    LocalLoss o;
    o.d.assign(K * B * P * G, 0.0);
    o.dw.assign(C * N, 0.0);
    o.db.assign(N, 0.0);
    o.dx.assign(B * P * C, 0.0);
    const int64_t cg = C / G;
    for (int64_t n = 0; n < B; ++n) {
        Vec xbar(C, 0.0), l, s, v(C, 0.0);
        for (int64_t p = 0; p < P; ++p)
            for (int64_t c = 0; c < C; ++c) xbar[c] += x[(n * P + p) * C + c];
        for (double& e : xbar) e /= double(P);
        o.loss.push_back(head(xbar, w.data(), b.data(), C, N, labels[n], l, s));
        o.logits.insert(o.logits.end(), l.begin(), l.end());
        for (int64_t c = 0; c < C; ++c)
            for (int64_t j = 0; j < N; ++j) v[c] += w[c * N + j] * s[j];
        for (int64_t c = 0; c < C; ++c)
            for (int64_t j = 0; j < N; ++j) o.dw[c * N + j] += xbar[c] * s[j] / double(B);
        for (int64_t j = 0; j < N; ++j) o.db[j] += s[j] / double(B);
        for (int64_t p = 0; p < P; ++p)
            for (int64_t c = 0; c < C; ++c) o.dx[(n * P + p) * C + c] = v[c] / double(P * B);
        for (int64_t k = 0; k < K; ++k)
            for (int64_t p = 0; p < P; ++p)
                for (int64_t c = 0; c < C; ++c)
                    o.d[((k * B + n) * P + p) * G + c / cg] += xdot[((k * B + n) * P + p) * C + c] * v[c] / double(P * B);
    }
    return o;
}

// ---------------------------------------------------------------- estimators

double fga_scalar(int32_t mode, const std::vector<float>& d, int64_t k, int64_t r, int64_t c, int64_t B, int64_t P,
                  int64_t C, int64_t G) {
    const int64_t R = B * P;
    if (mode == FG_SCALE_GROUP) return d[(k * R + r) * G + c / (C / G)];
    double s = 0;
    const int64_t first = mode == FG_SCALE_PATCH ? r : (r / P) * P, last = mode == FG_SCALE_PATCH ? r + 1 : first + P;
    for (int64_t rr = first; rr < last; ++rr)
        for (int64_t g = 0; g < G; ++g) s += d[(k * R + rr) * G + g];
    return s;
}

void fga(const FgaProblem& pr, int64_t k0, int64_t k1, const std::vector<float>& u, const std::vector<float>& act,
         const std::vector<float>& d, const std::vector<float>& zln, const std::vector<float>& rstd,
         const std::vector<float>& x, Vec& dw, Vec& db) {
    const int64_t R = pr.B * pr.P, C = pr.C;
    Vec gz(R * C, 0.0);
    for (int64_t k = k0; k < k1; ++k)
        for (int64_t r = 0; r < R; ++r)
            for (int64_t c = 0; c < C; ++c)
                if (act[r * C + c] > 0)
                    gz[r * C + c] += fga_scalar(pr.mode, d, k, r, c, pr.B, pr.P, C, pr.G) * u[(k * R + r) * C + c] /
                                     double(k1 - k0);
    const Vec glin = ln_vjp(Vec(zln.begin(), zln.end()), Vec(rstd.begin(), rstd.end()), gz, pr.ln_dim());
    pr.layer().backward(Vec(x.begin(), x.end()), glin, dw, db);
}

Vec fgw(int32_t mode, int64_t count, int64_t cols, int64_t G, int64_t rows, int64_t k0, int64_t k1,
        const std::vector<float>& v, const std::vector<float>& d) {
    Vec grad(count, 0.0);
    for (int64_t k = k0; k < k1; ++k) {
        Vec D(G, 0.0);
        double all = 0;
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t g = 0; g < G; ++g) D[g] += d[(k * rows + r) * G + g], all += d[(k * rows + r) * G + g];
        for (int64_t e = 0; e < count; ++e) {
            const double s = mode == FG_WSLICE_ALL       ? all
                             : mode == FG_WSLICE_LEADING ? D[e / (count / G)]
                                                         : D[(e % cols) / (cols / G)];
            grad[e] += s * v[k * count + e] / double(k1 - k0);
        }
    }
    return grad;
}

// ---------------------------------------------------------------- optimizers

void OptimizerTensor::step(const fg_optimizer_params& hp, const std::vector<float>& grad, bool decay) {
    const double lr = hp.lr, wd = decay ? hp.weight_decay : 0.0;
    for (size_t i = 0; i < p.size(); ++i) {
        double g = grad[i];
        if (hp.kind == FG_OPT_SGD) {
            if (hp.decoupled) p[i] -= lr * wd * p[i];
            else g += wd * p[i];
            s1[i] = hp.momentum * s1[i] + g;
            p[i] -= lr * s1[i];
        } else {
            p[i] *= 1.0 - lr * wd;
            s1[i] = hp.beta1 * s1[i] + (1.0 - hp.beta1) * g;
            s2[i] = hp.beta2 * s2[i] + (1.0 - hp.beta2) * g * g;
            const double bc1 = 1.0 - std::pow(double(hp.beta1), double(hp.step));
            const double bc2 = 1.0 - std::pow(double(hp.beta2), double(hp.step));
            p[i] -= lr / bc1 * s1[i] / (std::sqrt(s2[i]) / std::sqrt(bc2) + hp.eps);
        }
    }
}

// ---------------------------------------------------------------- random normals

void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c[4] = {counter[0], counter[1], counter[2], counter[3]}, k[2] = {key[0], key[1]};
    for (int round = 0; round < 10; ++round) {
        if (round > 0) k[0] += 0x9E3779B9u, k[1] += 0xBB67AE85u;
        const uint64_t p0 = uint64_t(0xD2511F53u) * c[0], p1 = uint64_t(0xCD9E8D57u) * c[2];
        const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0), hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
        const uint32_t n0 = hi1 ^ c[1] ^ k[0], n2 = hi0 ^ c[3] ^ k[1];
        c[0] = n0, c[1] = lo1, c[2] = n2, c[3] = lo0;
    }
    for (int i = 0; i < 4; ++i) out[i] = c[i];
}

double normal(uint64_t seed, uint32_t step, uint32_t tensor_id, uint64_t i) {
    const uint64_t block = i / 4;
    const uint32_t counter[4] = {uint32_t(block), uint32_t(block >> 32), step, tensor_id};
    const uint32_t key[2] = {uint32_t(seed), uint32_t(seed >> 32)};
    uint32_t w[4];
    philox4x32_10(counter, key, w);
    const int lane = int(i % 4), pair = lane / 2;
    auto uniform01 = [](uint32_t x) { return (double(x) + 0.5) / 4294967296.0; };
    const double r = std::sqrt(-2.0 * std::log(uniform01(w[2 * pair])));
    const double theta = 2.0 * M_PI * uniform01(w[2 * pair + 1]);
    return lane % 2 == 0 ? r * std::cos(theta) : r * std::sin(theta);
}

// ---------------------------------------------------------------- LocalMixer

Mixer::Mixer(const fg_mixer_config& cfg) : c(cfg) {
    P = int64_t(c.grid) * c.grid, C = c.channels, G = c.groups, cg = C / G, N = c.classes;
    Din = int64_t(c.image_height / c.grid) * (c.image_width / c.grid) * c.image_channels;
}

void Mixer::ln(Vec& x, int64_t rows, int64_t dim) {
    Vec y, mean, rstd;
    ln_forward(Vec(x.begin(), x.begin() + rows * dim), dim, y, mean, rstd);
    std::copy(y.begin(), y.end(), x.begin());
}

namespace {

Vec block_diagonal(const Vec& x, int64_t R, int64_t n, int64_t m, int64_t groups, const Vec& W, const Vec& b) {
    const int64_t gi = n / groups, go = m / groups;
    Vec y(R * m);
    for (int64_t r = 0; r < R; ++r)
        for (int64_t g = 0; g < groups; ++g)
            for (int64_t j = 0; j < go; ++j) {
                double s = b[g * go + j];
                for (int64_t i = 0; i < gi; ++i) s += x[r * n + g * gi + i] * W[(g * gi + i) * go + j];
                y[r * m + g * go + j] = s;
            }
    return y;
}

void relu(Vec& x) {
    for (double& v : x) v = std::max(v, 0.0);
}

}  // namespace

double Mixer::run(const std::vector<Vec>& w, const std::vector<float>& images, const std::vector<int32_t>& labels,
                  Vec* block_losses, Vec* logits, std::vector<Vec>* layers, std::vector<Vec>* features) const {
    const int64_t B = int64_t(labels.size()), R = B * P, ph = c.image_height / c.grid, pw = c.image_width / c.grid;
    // The LN before a linear layer [pre_linear_ln]: over the input width, per group before the group layer.
    auto pre = [&](Vec x, int64_t rows, int64_t dim) {
        if (c.pre_linear_ln) ln(x, rows, dim);
        return x;
    };
    auto token = [&](const Vec& x, const Vec& W, const Vec& b) {
        Vec y(R * C);
        for (int64_t s = 0; s < B; ++s)
            for (int64_t q = 0; q < P; ++q)
                for (int64_t ch = 0; ch < C; ++ch) {
                    double v = b[q];
                    for (int64_t p = 0; p < P; ++p) v += W[p * P + q] * x[(s * P + p) * C + ch];
                    y[(s * P + q) * C + ch] = v;
                }
        return y;
    };
    // batch mean of mean_p(x) W + b over `patches` patches
    auto xent = [&](const Vec& x, const Vec& W, const Vec& b, Vec* lg, int64_t patches) {
        double total = 0;
        for (int64_t n = 0; n < B; ++n) {
            Vec xbar(C, 0.0), l, sm;
            for (int64_t p = 0; p < patches; ++p)
                for (int64_t ch = 0; ch < C; ++ch) xbar[ch] += x[(n * patches + p) * C + ch] / double(patches);
            total += head(xbar, W.data(), b.data(), C, N, labels[n], l, sm);
            if (lg) lg->insert(lg->end(), l.begin(), l.end());
        }
        return total / double(B);
    };
    Vec patches(R * Din);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t py = 0; py < c.grid; ++py)
            for (int64_t px = 0; px < c.grid; ++px)
                for (int64_t i = 0; i < ph; ++i)
                    for (int64_t j = 0; j < pw; ++j)
                        for (int64_t ch = 0; ch < c.image_channels; ++ch)
                            patches[((b * P + py * c.grid + px) * Din) + (i * pw + j) * c.image_channels + ch] =
                                images[((b * c.image_height + py * ph + i) * c.image_width + px * pw + j) *
                                           c.image_channels + ch];
    size_t at = 0;
    Vec x;
    for (int32_t k = 0; k < c.blocks; ++k) {
        Vec a = patches;
        int64_t n_in = Din;
        if (k >= 1) {
            a = token(pre(x, R, C), w[at], w[at + 1]);
            at += 2;
            ln(a, R, C);
            relu(a);
            n_in = C;
            if (layers) layers->push_back(a);
        }
        Vec h = block_diagonal(pre(a, R, n_in), R, n_in, C, 1, w[at], w[at + 1]);
        at += 2;
        ln(h, R, C);
        relu(h);
        if (layers) layers->push_back(h);
        Vec out = block_diagonal(pre(h, R * G, cg), R, C, C, G, w[at], w[at + 1]);
        at += 2;
        ln(out, R * G, cg);
        if (k >= 1)
            for (size_t i = 0; i < out.size(); ++i) out[i] += x[i];
        relu(out);
        if (layers) layers->push_back(out);
        Vec feat = out;
        if (c.inter_ln) ln(feat, R * G, cg);  // per group, as the local loss reads it
        if (features) features->push_back(feat);
        const double lk = xent(feat, w[at], w[at + 1], nullptr, P);
        at += 2;
        if (block_losses) block_losses->push_back(lk);
        x = out;
    }
    if (!c.final_ln) return xent(x, w[at], w[at + 1], logits, P);
    Vec xbar(B * C, 0.0);  // the final classifier reads LN(mean_p x) as its one patch
    for (int64_t n = 0; n < B; ++n)
        for (int64_t p = 0; p < P; ++p)
            for (int64_t ch = 0; ch < C; ++ch) xbar[n * C + ch] += x[(n * P + p) * C + ch] / double(P);
    ln(xbar, B, C);
    return xent(xbar, w[at], w[at + 1], logits, 1);
}

}  // namespace oracle
