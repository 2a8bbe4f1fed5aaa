#include <algorithm>
#include <cmath>

#include "op_table.h"

namespace optable {

int Problem::input(std::string name, std::vector<float> v) {
    arrays.push_back({std::move(name), std::move(v), {}, false, false});
    return int(arrays.size()) - 1;
}

int Problem::input(std::string name, std::vector<int32_t> v) {
    arrays.push_back({std::move(name), {}, std::move(v), false, false});
    return int(arrays.size()) - 1;
}

int Problem::output(std::string name, size_t floats) {
    arrays.push_back({std::move(name), std::vector<float>(floats, 0.0f), {}, true, true});
    return int(arrays.size()) - 1;
}

int Problem::output(std::string name, std::vector<float> initial) {
    arrays.push_back({std::move(name), std::move(initial), {}, true, false});
    return int(arrays.size()) - 1;
}

const std::vector<Case>& cases() {
    static const std::vector<Case> table = [] {
        std::vector<Case> t;
        add_elementwise_cases(t);
        add_gemm_cases(t);
        add_linear_cases(t);
        add_loss_cases(t);
        add_optimizer_cases(t);
        add_mixer_cases(t);
        return t;
    }();
    return table;
}

std::vector<std::string> ops() {
    std::vector<std::string> names;
    for (const Case& c : cases())
        if (std::find(names.begin(), names.end(), c.op) == names.end()) names.push_back(c.op);
    return names;
}

std::vector<float> uniform(size_t n, uint32_t seed, float scale, float offset) {
    // splitmix64 of (seed, i): counter-based, so paper-sized benchmark inputs fill in well under a second.
    std::vector<float> v(n);
    const uint64_t base = (uint64_t(seed) + 1) * 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; ++i) {
        uint64_t z = base + (uint64_t(i) + 1) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        const float u = float(z >> 40) * (1.0f / 16777216.0f);  // 24 bits: [0, 1)
        v[i] = (2.0f * u - 1.0f) * scale + offset;
    }
    return v;
}

std::string dims(std::initializer_list<int64_t> d) {
    std::string s;
    for (int64_t x : d) s += (s.empty() ? "" : "x") + std::to_string(x);
    return s;
}

std::vector<size_t> sample(size_t count, size_t limit) {
    std::vector<size_t> at;
    if (count <= limit) {
        at.resize(count);
        for (size_t i = 0; i < count; ++i) at[i] = i;
        return at;
    }
    // An odd stride walks every row and column position of a matrix output sooner or later.
    const size_t stride = (count / limit) | 1;
    for (size_t i = 0; i < count; i += stride) at.push_back(i);
    if (at.back() != count - 1) at.push_back(count - 1);
    return at;
}

double max_abs(const std::vector<double>& v) {
    double m = 0;
    for (double x : v)
        if (std::isfinite(x)) m = std::max(m, std::fabs(x));
    return m;
}

std::vector<float> ln_input(int64_t rows, int64_t dim, uint32_t seed, float offset_scale) {
    const std::vector<float> noise = uniform(rows * dim, seed, 0.5f), offsets = uniform(rows, seed + 1000, offset_scale);
    std::vector<float> x(rows * dim);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < dim; ++i) x[r * dim + i] = offsets[r] + (i % 2 ? 1.0f : -1.0f) + noise[r * dim + i];
    return x;
}

fg_optimizer_params sgd_params(float lr, float momentum, float wd, int32_t decoupled) {
    fg_optimizer_params p{};
    p.size = sizeof p, p.kind = FG_OPT_SGD, p.lr = lr, p.momentum = momentum, p.weight_decay = wd,
    p.decoupled = decoupled;
    return p;
}

fg_optimizer_params adamw_params(float lr, float wd, float beta1, float beta2, float eps) {
    fg_optimizer_params p{};
    p.size = sizeof p, p.kind = FG_OPT_ADAMW, p.lr = lr, p.weight_decay = wd, p.beta1 = beta1, p.beta2 = beta2,
    p.eps = eps;
    return p;
}

}  // namespace optable
