// fg_optimizer_step: SGD (momentum, L2 or decoupled decay, plain) and AdamW over several steps of fresh
// gradients, on a weight (decayed), a bias (not) and a single element, against torch.optim's update rules
// in float64. The gradients are inputs: they must come back unchanged.
#include <memory>

#include "cases_util.h"
#include "oracle.h"

namespace optable {

namespace {

constexpr auto sgd = sgd_params;
constexpr auto adamw = adamw_params;

struct Tolerance {
    double rtol, param, state1, state2;
};

Case optimizer_case(const std::string& name, const fg_optimizer_params& hp, std::vector<int64_t> sizes,
                    std::vector<int32_t> decay, int steps, uint32_t seed, Tolerance tol) {
    Case c;
    const bool adam = hp.kind == FG_OPT_ADAMW;
    int64_t total = 0;
    for (int64_t n : sizes) total += n;
    c.op = "fg_optimizer_step";
    c.shape = name + " sizes";
    for (int64_t n : sizes) c.shape += " " + std::to_string(n);
    c.shape += ", " + std::to_string(steps) + (steps == 1 ? " step" : " steps");
    c.cost = {(adam ? 12.0 : 5.0) * total, 4.0 * total * (adam ? 7 : 5)};
    c.make = [=] {
        Problem p;
        const size_t T = sizes.size();
        // grads[s][t]: step s+1's gradient of tensor t.
        auto grads = std::make_shared<std::vector<std::vector<std::vector<float>>>>(size_t(steps));
        for (int s = 0; s < steps; ++s)
            for (size_t t = 0; t < T; ++t)
                (*grads)[size_t(s)].push_back(uniform(size_t(sizes[t]), seed + 100 * uint32_t(s + 1) + uint32_t(t), 1.5f));
        std::vector<int> P, G, S1, S2;
        for (size_t t = 0; t < T; ++t) {
            const std::string i = std::to_string(t);
            P.push_back(p.output("tensor" + i + ".param", uniform(size_t(sizes[t]), seed + 10 + uint32_t(t), 2.0f)));
            G.push_back(p.output("tensor" + i + ".grad", (*grads)[0][t]));
            S1.push_back(p.output("tensor" + i + ".state1", std::vector<float>(size_t(sizes[t]), 0.0f)));
            S2.push_back(p.output("tensor" + i + ".state2", std::vector<float>(size_t(sizes[t]), 0.0f)));
        }
        p.call = [=](fg_context* ctx, const Buffers& b) {
            std::vector<fg_buffer*> hp_, hg, h1, h2;
            for (size_t t = 0; t < T; ++t) hp_.push_back(b[P[t]]), hg.push_back(b[G[t]]), h1.push_back(b[S1[t]]),
                                           h2.push_back(b[S2[t]]);
            fg_optimizer_params h = hp;
            for (int s = 1; s <= steps; ++s) {
                h.step = s;
                for (size_t t = 0; t < T && s > 1; ++t) {  // step 1's gradient is the array's initial contents
                    const std::vector<float>& g = (*grads)[size_t(s - 1)][t];
                    const fg_status st = fg_buffer_upload(hg[t], 0, g.data(), g.size() * 4);
                    if (st != FG_OK) return st;
                }
                const fg_status st = fg_optimizer_step(ctx, &h, int32_t(T), hp_.data(), hg.data(), h1.data(),
                                                       adam ? h2.data() : nullptr, decay.data());
                if (st != FG_OK) return st;
            }
            return fg_status(FG_OK);
        };
        p.oracle = [=](const Problem& pr) {
            std::vector<oracle::OptimizerTensor> o(T);
            for (size_t t = 0; t < T; ++t) {
                o[t].p.assign(pr.f(P[t]).begin(), pr.f(P[t]).end());
                o[t].s1.assign(size_t(sizes[t]), 0.0);
                o[t].s2.assign(size_t(sizes[t]), 0.0);
            }
            fg_optimizer_params h = hp;
            for (int s = 1; s <= steps; ++s) {
                h.step = s;
                for (size_t t = 0; t < T; ++t) o[t].step(h, (*grads)[size_t(s - 1)][t], decay[t] == 1);
            }
            std::vector<Expect> out;
            for (size_t t = 0; t < T; ++t) {
                out.push_back({P[t], o[t].p, {}, tol.rtol, tol.param});
                out.push_back({S1[t], o[t].s1, {}, tol.rtol, tol.state1});
                if (adam) out.push_back({S2[t], o[t].s2, {}, tol.rtol, tol.state2});
                const std::vector<float>& last = (*grads)[size_t(steps - 1)][t];
                out.push_back({G[t], oracle::Vec(last.begin(), last.end()), {}, 0, 0});  // an input: unchanged
            }
            return out;
        };
        return p;
    };
    return c;
}

}  // namespace

void add_optimizer_cases(std::vector<Case>& t) {
    const std::pair<const char*, fg_optimizer_params> kinds[] = {
        {"sgd_l2", sgd(0.1f, 0.9f, 0.05f, 0)},
        {"sgd_decoupled", sgd(0.1f, 0.9f, 0.05f, 1)},
        {"sgd_plain", sgd(0.3f, 0.0f, 0.0f, 0)},
        {"adamw", adamw(0.01f, 0.1f, 0.9f, 0.999f, 1e-8f)},
        {"adamw_low_beta", adamw(0.05f, 0.01f, 0.5f, 0.9f, 1e-3f)},
    };
    uint32_t seed = 10;
    for (const auto& [name, hp] : kinds)
        for (int steps = 1; steps <= 6; ++steps)  // every step's state checked
            t.push_back(optimizer_case(name, hp, {37, 7, 1}, {1, 0, 1}, steps, seed += 1000, {1e-5, 1e-6, 1e-6, 1e-7}));
    // Larger tensors (decay on, off, on), three steps.
    const std::pair<const char*, fg_optimizer_params> larger[] = {
        {"sgd momentum 0.9 wd 5e-4 L2", sgd(0.05f, 0.9f, 5e-4f, 0)},
        {"sgd momentum 0.9 wd 5e-4 decoupled", sgd(0.05f, 0.9f, 5e-4f, 1)},
        {"adamw lr 1e-3 wd 0.01", adamw(1e-3f, 0.01f, 0.9f, 0.999f, 1e-8f)},
    };
    for (const auto& [name, hp] : larger)
        t.push_back(optimizer_case(name, hp, {1, 1031, 65536}, {1, 0, 1}, 3, seed += 1000, {1e-5, 1e-6, 1e-6, 1e-9}));
    // One step over the M/8/16 model's size class (4 M parameters in one weight and one bias).
    for (const auto& [name, hp] : {larger[0], larger[2]}) {
        t.push_back(benchmarked(optimizer_case(name, hp, {4 << 20, 512}, {1, 0}, 1, seed += 1000, {1e-5, 1e-6, 1e-6, 1e-9}),
                                std::string("optimizer_step/") + (hp.kind == FG_OPT_ADAMW ? "adamw" : "sgd") + "/4M"));
    }
}

}  // namespace optable
