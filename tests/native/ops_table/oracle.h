// float64 oracles of the C ABI's ops, written from the definitions in forwardgrad.h with plain loops
// (no library call). Shared by the op table and by the tests that go beyond parity (finite
// differences, adjoint identities, unbiasedness).
#pragma once
#include <cstdint>
#include <vector>

#include "forwardgrad.h"

namespace oracle {

using Vec = std::vector<double>;

// C = alpha op(A) op(B) + beta C, row-major; element (i, j).
double gemm_element(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k, double alpha, const float* a,
                    const float* b, double beta, const float* c, int64_t i, int64_t j);

// A linear layer of forwardgrad.h (FG_LAYER_DENSE / GROUP / TOKEN) over `rows` rows.
struct Layer {
    int32_t kind;
    int64_t rows, n, m, groups;
    int64_t weights() const { return kind == FG_LAYER_TOKEN ? groups * groups : n * m / groups; }
    int64_t biases() const { return kind == FG_LAYER_TOKEN ? groups : m; }
    // Products summed per output element (Y, dX) and per weight-gradient element.
    int64_t depth_y() const { return kind == FG_LAYER_TOKEN ? groups : n / groups; }
    int64_t depth_dx() const { return kind == FG_LAYER_TOKEN ? groups : m / groups; }
    int64_t depth_dw() const { return kind == FG_LAYER_TOKEN ? rows / groups * n : rows; }
    double flops() const { return 2.0 * double(rows) * double(depth_y()) * double(m); }  // one forward pass

    // Y[yi] of Y = X W (+ b when b != nullptr); x is one (rows, n) stack.
    double y(const float* x, const float* w, const float* b, int64_t yi) const;
    double dx(const float* w, const float* dy, int64_t xi) const;   // (dY W^T)[xi]
    double dw(const float* x, const float* dy, int64_t wi) const;   // (X^T dY)[wi]
    double db(const float* dy, int64_t bi) const;                   // (sum_r dY)[bi]
    // Whole outputs (small problems).
    Vec forward(const Vec& x, const Vec& w, const Vec* b) const;
    void backward(const Vec& x, const Vec& dy, Vec& dw, Vec& db) const;
};

// LayerNorm over rows of width D (no affine, eps FG_LN_EPS).
void ln_forward(const Vec& x, int64_t D, Vec& y, Vec& mean, Vec& rstd);
// rstd * (t - mean(t) - y * mean(y * t)) per row: the VJP of dy, and equally the JVP of a tangent.
Vec ln_vjp(const Vec& y, const Vec& rstd, const Vec& dy, int64_t D);

// relu(z + res) in float, as the library forms the sum, so both agree on every mask bit; res may be null.
std::vector<float> relu_primal(const std::vector<float>& z, const std::vector<float>* res);

// fg_local_loss in closed form: loss (B), logits (B, N), d (K, B, P, G), dw (C, N), db (N), dx (B, P, C).
struct LocalLoss {
    Vec loss, logits, d, dw, db, dx;
};
LocalLoss local_loss(int64_t B, int64_t P, int64_t C, int64_t G, int64_t N, int64_t K, const std::vector<float>& x,
                     const std::vector<float>& xdot, const std::vector<float>& w, const std::vector<float>& b,
                     const std::vector<int32_t>& labels);

// The FG-A scalar of unit (k, r, c) from d (K, R, G), R = B*P rows (FG_SCALE_*).
double fga_scalar(int32_t mode, const std::vector<float>& d, int64_t k, int64_t r, int64_t c, int64_t B, int64_t P,
                  int64_t C, int64_t G);
struct FgaProblem {
    int32_t kind, mode;
    int64_t B, P, C, G, n_in, lg;
    Layer layer() const { return {kind, B * P, n_in, C, lg}; }
    int64_t ln_dim() const { return kind == FG_LAYER_GROUP ? C / lg : C; }  // a group layer's LN is per group
};
// dW, db of fg_fga_weight_grad for tangents [k0, k1).
void fga(const FgaProblem& pr, int64_t k0, int64_t k1, const std::vector<float>& u, const std::vector<float>& act,
         const std::vector<float>& d, const std::vector<float>& zln, const std::vector<float>& rstd,
         const std::vector<float>& x, Vec& dw, Vec& db);
// grad of fg_fgw_grad for tangents [k0, k1).
Vec fgw(int32_t mode, int64_t count, int64_t cols, int64_t G, int64_t rows, int64_t k0, int64_t k1,
        const std::vector<float>& v, const std::vector<float>& d);

// One tensor's optimizer state, updated like torch.optim.SGD / torch.optim.AdamW.
struct OptimizerTensor {
    Vec p, s1, s2;
    void step(const fg_optimizer_params& hp, const std::vector<float>& grad, bool decay);
};

// The Philox4x32-10 block (Random123's reference rounds) and element i of fg_random_normal's stream as
// forwardgrad.h documents it, in double.
void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
double normal(uint64_t seed, uint32_t step, uint32_t tensor_id, uint64_t i);

// The LocalMixer of forwardgrad.h's fg_mixer_config: parameters in the model's order (per block: token
// weight and bias from block 1 on, channel dense, channel group, head; then the final classifier).
struct Mixer {
    fg_mixer_config c;
    int64_t P, C, G, cg, Din, N;
    explicit Mixer(const fg_mixer_config& cfg);
    static void ln(Vec& x, int64_t rows, int64_t dim);
    // Final loss (batch mean); block_losses (blocks, cross-entropies), logits (B, N), every layer's ReLU output
    // (R, C) (block 0: channel, group; block k >= 1: token, channel, group) and the features each block's local
    // loss reads (blocks of (B, P, C)) out when not null.
    double run(const std::vector<Vec>& w, const std::vector<float>& images, const std::vector<int32_t>& labels,
               Vec* block_losses, Vec* logits, std::vector<Vec>* layers = nullptr,
               std::vector<Vec>* features = nullptr) const;
};

}  // namespace oracle
