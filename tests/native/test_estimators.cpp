// Gradient estimators beyond the op table's float64-oracle cases (ops_table/cases_loss.cpp):
// unbiasedness on a small network (the mean of many forward-gradient estimates converges to the exact
// backprop gradient, with error shrinking like 1/sqrt(K)); bad arguments.
#include <algorithm>
#include <cmath>
#include <functional>

#include "oracle.h"
#include "test_util.h"

using namespace fgtest;

namespace {

using oracle::FgaProblem;
using oracle::ln_vjp;
using Vec = oracle::Vec;

int64_t weight_count(int32_t kind, int64_t n, int64_t m, int64_t lg) { return oracle::Layer{kind, 1, n, m, lg}.weights(); }
int64_t bias_count(int32_t kind, int64_t m, int64_t lg) { return oracle::Layer{kind, 1, m, m, lg}.biases(); }

void ln_forward(const Vec& x, int64_t D, Vec& y, Vec& rstd) {
    Vec mean;
    oracle::ln_forward(x, D, y, mean, rstd);
}

// dW, db of fg_fga_weight_grad and grad of fg_fgw_grad for tangents [k0, k1).
constexpr auto fga_oracle = oracle::fga;
constexpr auto fgw_oracle = oracle::fgw;

std::vector<float> to_float(const Vec& v) { return std::vector<float>(v.begin(), v.end()); }

std::vector<float> draw_normal(fg_context* ctx, uint64_t count, uint32_t step, uint32_t tensor) {
    Buffer b(ctx, count * sizeof(float));
    EXPECT_EQ(fg_random_normal(ctx, b, count, 2024, step, tensor), FG_OK) << fg_last_error();
    return b.get();
}

const char* kind_name(int32_t kind) {
    return kind == FG_LAYER_DENSE ? "dense" : kind == FG_LAYER_GROUP ? "group" : "token";
}
const char* scale_name(int32_t mode) {
    return mode == FG_SCALE_GROUP ? "group" : mode == FG_SCALE_PATCH ? "patch" : "global";
}

// A problem of each layer kind: B=3, P=4, C=8, G=2 loss groups.
FgaProblem problem_of(int32_t kind, int32_t mode) {
    if (kind == FG_LAYER_DENSE) return {kind, mode, 3, 4, 8, 2, 5, 1};
    if (kind == FG_LAYER_GROUP) return {kind, mode, 3, 4, 8, 2, 6, 2};
    return {kind, mode, 3, 4, 8, 2, 8, 4};
}

}  // namespace

// ---------------------------------------------------------------- (b) unbiasedness
//
// The network: Z0 = layer(X; W, b) (R = B*P rows, C), Zln = LN(Z0) (optional), A = relu(Zln),
// and one loss per (n, p, g): L_npg = 0.5 * (sum_{c in g} A[r, c] Rd[c] - t[r, g])^2, L = sum L_npg.
// Unit (r, c) touches only L_{r, g(c)}, so every scale mode gives an unbiased estimate of dL/dW.
namespace {

struct Network {
    FgaProblem pr;
    bool use_ln;
    Vec x, w, b, readout, target;  // readout (C), target (R, G)
    Vec z0, zln, rstd, a, e;        // forward: e[r, g] = the residual of loss (r, g)

    Network(const FgaProblem& p, bool ln) : pr(p), use_ln(ln) {
        const int64_t R = pr.B * pr.P;
        x = to_double(random_vector(R * pr.n_in, 21));
        w = to_double(random_vector(weight_count(pr.kind, pr.n_in, pr.C, pr.lg), 22, 0.8f));
        b = to_double(random_vector(bias_count(pr.kind, pr.C, pr.lg), 23, 0.3f));
        readout = to_double(random_vector(pr.C, 24));
        target = to_double(random_vector(R * pr.G, 25));
        z0 = pr.layer().forward(x, w, &b);
        if (use_ln)
            ln_forward(z0, pr.ln_dim(), zln, rstd);
        else
            zln = z0, rstd.assign(R, 1.0);
        a.resize(zln.size());
        for (size_t i = 0; i < a.size(); ++i) a[i] = std::max(zln[i], 0.0);
        e.assign(R * pr.G, 0.0);
        for (int64_t r = 0; r < R; ++r)
            for (int64_t c = 0; c < pr.C; ++c) e[r * pr.G + group(c)] += a[r * pr.C + c] * readout[c];
        for (size_t i = 0; i < e.size(); ++i) e[i] -= target[i];
    }
    int64_t group(int64_t c) const { return c / (pr.C / pr.G); }

    // d[r, g] of each loss for a tangent zdot at Zln (before the ReLU).
    Vec directional(const Vec& zdot) const {
        Vec d(e.size(), 0.0);
        for (int64_t r = 0; r < pr.B * pr.P; ++r)
            for (int64_t c = 0; c < pr.C; ++c)
                if (a[r * pr.C + c] > 0) d[r * pr.G + group(c)] += readout[c] * zdot[r * pr.C + c];
        for (size_t i = 0; i < d.size(); ++i) d[i] *= e[i];
        return d;
    }
    // Zln tangent of a weight tangent v (the LN JVP has the VJP's form).
    Vec weight_jvp(const Vec& v) const {
        Vec zdot = pr.layer().forward(x, v, nullptr);
        return use_ln ? ln_vjp(zln, rstd, zdot, pr.ln_dim()) : zdot;
    }
    // Exact backprop gradient of L: dW and db concatenated.
    Vec exact_gradient() const {
        Vec dz(a.size(), 0.0);
        for (int64_t r = 0; r < pr.B * pr.P; ++r)
            for (int64_t c = 0; c < pr.C; ++c)
                if (a[r * pr.C + c] > 0) dz[r * pr.C + c] = e[r * pr.G + group(c)] * readout[c];
        if (use_ln) dz = ln_vjp(zln, rstd, dz, pr.ln_dim());
        Vec dw, db;
        pr.layer().backward(x, dz, dw, db);
        dw.insert(dw.end(), db.begin(), db.end());
        return dw;
    }
};

// Per-element mean and variance of per-tangent estimates (float64).
struct Moments {
    Vec mean, var;
    explicit Moments(const std::vector<Vec>& samples) : mean(samples[0].size(), 0.0), var(samples[0].size(), 0.0) {
        const double n = static_cast<double>(samples.size());
        for (const Vec& s : samples)
            for (size_t j = 0; j < s.size(); ++j) mean[j] += s[j] / n;
        for (const Vec& s : samples)
            for (size_t j = 0; j < s.size(); ++j) var[j] += (s[j] - mean[j]) * (s[j] - mean[j]) / (n - 1);
    }
};

// Elements whose estimate never varies (e.g. a token layer's bias: the LN VJP sums to zero over
// C) are exact, not statistical; they are checked with a float tolerance and left out below.
bool deterministic(const Vec& var, size_t j) {
    return var[j] <= 1e-12 * *std::max_element(var.begin(), var.end());
}

// Error of an averaged estimate in units of the per-element standard error of one sample:
// sqrt(mean_j (est_j - exact_j)^2 / var_j); for N samples it is about 1/sqrt(N).
double standardized_error(const std::vector<float>& est, const Vec& exact, const Vec& var) {
    double s = 0;
    size_t n = 0;
    for (size_t j = 0; j < exact.size(); ++j)
        if (!deterministic(var, j)) s += (est[j] - exact[j]) * (est[j] - exact[j]) / var[j], ++n;
    return std::sqrt(s / n);
}

// est (averaged over N tangents) agrees with exact within 5 standard errors per element, and the
// error at N is about half the error at N/4.
void expect_unbiased(const std::vector<float>& est_n, const std::vector<float>& est_quarter, const Vec& exact,
                     const Moments& m, int64_t N, const std::string& label) {
    const double scale = *std::max_element(m.var.begin(), m.var.end());
    for (size_t j = 0; j < exact.size(); ++j) {
        const double bound = deterministic(m.var, j) ? 1e-5 * std::sqrt(scale) : 5.0 * std::sqrt(m.var[j] / N);
        EXPECT_LE(std::fabs(est_n[j] - exact[j]), bound)
            << label << " element " << j << ": mean " << est_n[j] << ", exact " << exact[j] << ", sd "
            << std::sqrt(m.var[j]);
    }
    const double err_n = standardized_error(est_n, exact, m.var), err_q = standardized_error(est_quarter, exact, m.var);
    EXPECT_NEAR(err_n * std::sqrt(double(N)), 1.0, 0.5) << label;
    EXPECT_GE(err_n / err_q, 0.35) << label << ": error " << err_q << " at N/4, " << err_n << " at N";
    EXPECT_LE(err_n / err_q, 0.7) << label << ": error " << err_q << " at N/4, " << err_n << " at N";
}

std::vector<float> concat(std::vector<float> a, const std::vector<float>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

constexpr int64_t kSamples = 4000;

}  // namespace

class FgaEstimatorUnbiased : public ::testing::TestWithParam<std::tuple<int32_t, int32_t, int32_t>> {};

TEST_P(FgaEstimatorUnbiased, MeanOfEstimatesIsTheExactGradient) {
    const int32_t backend = std::get<0>(GetParam()), kind = std::get<1>(GetParam()), mode = std::get<2>(GetParam());
    FG_SKIP_IF_UNAVAILABLE(backend);
    Context c(backend);
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    const FgaProblem pr{kind, mode, 2, 4, 8, 2, kind == FG_LAYER_TOKEN ? 8 : 6, kind == FG_LAYER_DENSE ? 1 : kind == FG_LAYER_GROUP ? 2 : 4};
    const Network net(pr, true);
    const int64_t R = pr.B * pr.P, C = pr.C, K = kSamples;
    // Activity tangents U (K, B, P, C) and their exact directional derivatives d (K, B, P, G).
    const std::vector<float> u = draw_normal(c, K * R * C, 1, 7);
    std::vector<float> d(K * R * pr.G);
    for (int64_t k = 0; k < K; ++k) {
        const Vec dk = net.directional(Vec(u.begin() + k * R * C, u.begin() + (k + 1) * R * C));
        std::copy(dk.begin(), dk.end(), d.begin() + k * R * pr.G);
    }
    const std::vector<float> act = to_float(net.a), zln = to_float(net.zln), rstd = to_float(net.rstd),
                             x = to_float(net.x);
    Buffer bu(c, u), bd(c, d), bact(c, act), bzln(c, zln), brstd(c, rstd), bx(c, x), ws(c, R * C * sizeof(float));
    Buffer dw(c, net.w.size() * sizeof(float)), db(c, net.b.size() * sizeof(float));
    auto estimate = [&](int64_t tangents) {
        EXPECT_EQ(fg_fga_weight_grad(c, kind, mode, pr.B, pr.P, C, pr.G, pr.n_in, pr.lg, tangents, bu, bact, bd, bzln,
                                     brstd, bx, ws, dw, db, 0),
                  FG_OK)
            << fg_last_error();
        return concat(dw.get(), db.get());
    };
    std::vector<Vec> samples;
    for (int64_t k = 0; k < K; ++k) {
        Vec sw, sb;
        fga_oracle(pr, k, k + 1, u, act, d, zln, rstd, x, sw, sb);
        sw.insert(sw.end(), sb.begin(), sb.end());
        samples.push_back(std::move(sw));
    }
    // Tangents are k-major, so the first K/4 of them are a prefix of the same buffers.
    expect_unbiased(estimate(K), estimate(K / 4), net.exact_gradient(), Moments(samples), K,
                    std::string(kind_name(kind)) + "/" + scale_name(mode));
}

INSTANTIATE_TEST_SUITE_P(Backends, FgaEstimatorUnbiased,
                         ::testing::Combine(::testing::ValuesIn(all_backends()),
                                            ::testing::Values(FG_LAYER_DENSE, FG_LAYER_GROUP, FG_LAYER_TOKEN),
                                            ::testing::Values(FG_SCALE_GROUP, FG_SCALE_PATCH, FG_SCALE_GLOBAL)),
                         [](const auto& info) {
                             return std::string(backend_name(std::get<0>(info.param))) + "_" +
                                    kind_name(std::get<1>(info.param)) + "_" + scale_name(std::get<2>(info.param));
                         });

class FgwEstimatorUnbiased : public ::testing::TestWithParam<std::tuple<int32_t, int32_t>> {};

// FG-W on a dense layer: FG_WSLICE_ALL (one scalar) with the LN; FG_WSLICE_COLUMNS (local group
// losses) without it, where column j feeds only the losses of its own group.
TEST_P(FgwEstimatorUnbiased, MeanOfEstimatesIsTheExactGradient) {
    const int32_t backend = std::get<0>(GetParam()), mode = std::get<1>(GetParam());
    FG_SKIP_IF_UNAVAILABLE(backend);
    Context c(backend);
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    const FgaProblem pr{FG_LAYER_DENSE, FG_SCALE_GROUP, 2, 3, 8, 2, 5, 1};
    const Network net(pr, mode == FG_WSLICE_ALL);
    const int64_t R = pr.B * pr.P, count = static_cast<int64_t>(net.w.size()), K = kSamples;
    const std::vector<float> v = draw_normal(c, K * count, 2, 9);
    std::vector<float> d(K * R * pr.G);
    for (int64_t k = 0; k < K; ++k) {
        const Vec dk = net.directional(net.weight_jvp(Vec(v.begin() + k * count, v.begin() + (k + 1) * count)));
        std::copy(dk.begin(), dk.end(), d.begin() + k * R * pr.G);
    }
    Buffer bv(c, v), bd(c, d), grad(c, count * sizeof(float));
    auto estimate = [&](int64_t tangents) {
        EXPECT_EQ(fg_fgw_grad(c, mode, count, pr.C, pr.G, R, tangents, bv, bd, grad, 0), FG_OK) << fg_last_error();
        return grad.get();
    };
    std::vector<Vec> samples;
    for (int64_t k = 0; k < K; ++k) samples.push_back(fgw_oracle(mode, count, pr.C, pr.G, R, k, k + 1, v, d));
    Vec exact = net.exact_gradient();
    exact.resize(count);  // the weights only: the bias has no tangent here
    expect_unbiased(estimate(K), estimate(K / 4), exact, Moments(samples), K,
                    mode == FG_WSLICE_ALL ? "all" : "columns");
}

INSTANTIATE_TEST_SUITE_P(Backends, FgwEstimatorUnbiased,
                         ::testing::Combine(::testing::ValuesIn(all_backends()),
                                            ::testing::Values(FG_WSLICE_COLUMNS, FG_WSLICE_ALL)),
                         [](const auto& info) {
                             return std::string(backend_name(std::get<0>(info.param))) + "_" +
                                    (std::get<1>(info.param) == FG_WSLICE_ALL ? "all" : "columns");
                         });

// ---------------------------------------------------------------- (c) bad arguments

TEST(Estimators, FgaBadArgumentsNameTheArgument) {
    Context c, other;
    const FgaProblem pr = problem_of(FG_LAYER_DENSE, FG_SCALE_GROUP);
    const int64_t K = 2, R = pr.B * pr.P, C = pr.C;
    Buffer u(c, random_vector(K * R * C, 1)), act(c, random_vector(R * C, 2)), d(c, random_vector(K * R * pr.G, 3)),
        zln(c, random_vector(R * C, 4)), rstd(c, random_vector(R, 5)), x(c, random_vector(R * pr.n_in, 6)),
        ws(c, R * C * sizeof(float)), dw(c, pr.n_in * C * sizeof(float)), db(c, C * sizeof(float)),
        small(c, 4), foreign(other, R * C * sizeof(float));
    struct Args {
        int32_t kind = FG_LAYER_DENSE, mode = FG_SCALE_GROUP;
        int64_t B, P, C, G, n_in, lg, K;
        fg_buffer *u, *act, *d, *zln, *rstd, *x, *ws, *dw, *db;
        int32_t accumulate = 0;
    };
    const Args good{FG_LAYER_DENSE, FG_SCALE_GROUP, pr.B, pr.P, C, pr.G, pr.n_in, pr.lg, K, u, act, d, zln, rstd, x,
                    ws, dw, db, 0};
    auto call = [&](const Args& a) {
        return fg_fga_weight_grad(c, a.kind, a.mode, a.B, a.P, a.C, a.G, a.n_in, a.lg, a.K, a.u, a.act, a.d, a.zln,
                                  a.rstd, a.x, a.ws, a.dw, a.db, a.accumulate);
    };
    FG_ASSERT_OK(call(good));
    auto expect_invalid = [&](const std::function<void(Args&)>& edit, const char* needle) {
        Args a = good;
        edit(a);
        FG_EXPECT_STATUS(call(a), FG_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(fg_last_error()).find(needle), std::string::npos)
            << "expected '" << needle << "' in: " << fg_last_error();
    };
    FG_EXPECT_STATUS(fg_fga_weight_grad(nullptr, 0, 0, pr.B, pr.P, C, pr.G, pr.n_in, 1, K, u, act, d, zln, rstd, x, ws,
                                        dw, db, 0),
                     FG_ERR_INVALID_ARGUMENT);
    expect_invalid([](Args& a) { a.kind = 3; }, "kind");
    expect_invalid([](Args& a) { a.mode = -1; }, "scale_mode");
    expect_invalid([](Args& a) { a.B = 0; }, "batch");
    expect_invalid([](Args& a) { a.P = -2; }, "patches");
    expect_invalid([](Args& a) { a.G = 3; }, "groups (3) must divide channels (8)");
    expect_invalid([](Args& a) { a.K = 0; }, "tangents");
    expect_invalid([](Args& a) { a.n_in = 0; }, "n_in");
    expect_invalid([](Args& a) { a.lg = 2; }, "layer_groups must be 1");
    expect_invalid([](Args& a) { a.kind = FG_LAYER_GROUP, a.lg = 3; }, "layer_groups (3) must divide");
    expect_invalid([](Args& a) { a.kind = FG_LAYER_TOKEN, a.lg = a.P; }, "n_in == channels");
    expect_invalid([](Args& a) { a.accumulate = 2; }, "accumulate");
    expect_invalid([&](Args& a) { a.u = nullptr; }, "u is NULL");
    expect_invalid([&](Args& a) { a.act = small; }, "act is too small");
    expect_invalid([&](Args& a) { a.d = small; }, "d is too small");
    expect_invalid([&](Args& a) { a.zln = foreign; }, "zln belongs to another context");
    expect_invalid([&](Args& a) { a.rstd = small; }, "rstd is too small");
    expect_invalid([&](Args& a) { a.x = small; }, "x is too small");
    expect_invalid([&](Args& a) { a.ws = nullptr; }, "workspace is NULL");
    expect_invalid([&](Args& a) { a.ws = small; }, "workspace is too small");
    expect_invalid([&](Args& a) { a.dw = small; }, "dw is too small");
    expect_invalid([&](Args& a) { a.db = small; }, "db is too small");
    expect_invalid([&](Args& a) { a.ws = a.u; }, "workspace must not be one of the input");
}

TEST(Estimators, FgwBadArgumentsNameTheArgument) {
    Context c, other;
    Buffer v(c, random_vector(2 * 24, 1)), d(c, random_vector(2 * 5 * 3, 2)), grad(c, 24 * sizeof(float)),
        small(c, 4), foreign(other, 24 * sizeof(float));
    FG_ASSERT_OK(fg_fgw_grad(c, FG_WSLICE_COLUMNS, 24, 6, 3, 5, 2, v, d, grad, 0));
    auto expect_invalid = [&](fg_status s, const char* needle) {
        EXPECT_EQ(s, FG_ERR_INVALID_ARGUMENT) << needle;
        EXPECT_NE(std::string(fg_last_error()).find(needle), std::string::npos)
            << "expected '" << needle << "' in: " << fg_last_error();
    };
    expect_invalid(fg_fgw_grad(nullptr, 0, 24, 6, 3, 5, 2, v, d, grad, 0), "context");
    expect_invalid(fg_fgw_grad(c, 3, 24, 6, 3, 5, 2, v, d, grad, 0), "slice_mode");
    expect_invalid(fg_fgw_grad(c, 0, 0, 6, 3, 5, 2, v, d, grad, 0), "count");
    expect_invalid(fg_fgw_grad(c, 0, 24, 5, 3, 5, 2, v, d, grad, 0), "cols (5) must divide count (24)");
    expect_invalid(fg_fgw_grad(c, 0, 24, 6, 4, 5, 2, v, d, grad, 0), "groups (4) must divide cols (6)");
    expect_invalid(fg_fgw_grad(c, 1, 24, 6, 5, 5, 2, v, d, grad, 0), "groups (5) must divide count (24)");
    expect_invalid(fg_fgw_grad(c, 2, 24, 6, 0, 5, 2, v, d, grad, 0), "groups");
    expect_invalid(fg_fgw_grad(c, 0, 24, 6, 3, 0, 2, v, d, grad, 0), "rows");
    expect_invalid(fg_fgw_grad(c, 0, 24, 6, 3, 5, 0, v, d, grad, 0), "tangents");
    expect_invalid(fg_fgw_grad(c, 0, 24, 6, 3, 5, 2, v, d, grad, 5), "accumulate");
    expect_invalid(fg_fgw_grad(c, 0, 24, 6, 3, 5, 2, small, d, grad, 0), "v is too small");
    expect_invalid(fg_fgw_grad(c, 0, 24, 6, 3, 5, 2, v, nullptr, grad, 0), "d is NULL");
    expect_invalid(fg_fgw_grad(c, 0, 24, 6, 3, 5, 2, v, d, foreign, 0), "grad belongs to another context");
    expect_invalid(fg_fgw_grad(c, 0, 24, 6, 3, 5, 2, v, d, v, 0), "grad must not be the same buffer");
}
