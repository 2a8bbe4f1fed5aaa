#include "op_run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace optable {

Bound::Bound(fg_context* ctx, const Problem& problem) : ctx_(ctx), problem_(problem) {
    buffers_.assign(problem.arrays.size(), nullptr);
    for (size_t a = 0; a < problem.arrays.size() && ok(); ++a) {
        const Array& arr = problem.arrays[a];
        if (fg_buffer_alloc(ctx, std::max<uint64_t>(arr.bytes(), 4), &buffers_[a]) != FG_OK) {
            error_ = "allocating " + arr.name + " (" + std::to_string(arr.bytes()) + " bytes): " + fg_last_error();
            buffers_[a] = nullptr;
        }
    }
    if (ok() && reset() != FG_OK && error_.empty()) error_ = std::string("uploading the inputs: ") + fg_last_error();
}

Bound::~Bound() {
    for (fg_buffer* b : buffers_) fg_buffer_free(b);
}

fg_status Bound::reset() {
    for (size_t a = 0; a < problem_.arrays.size(); ++a) {
        const Array& arr = problem_.arrays[a];
        fg_status s = FG_OK;
        if (arr.poison) s = fg_buffer_fill_f32(buffers_[a], 0, arr.f.size(), std::nanf(""));
        else if (!arr.i.empty()) s = fg_buffer_upload(buffers_[a], 0, arr.i.data(), arr.bytes());
        else if (!arr.f.empty()) s = fg_buffer_upload(buffers_[a], 0, arr.f.data(), arr.bytes());
        if (s != FG_OK) return s;
    }
    return FG_OK;
}

fg_status Bound::call() {
    if (!ok()) return FG_ERR_INVALID_ARGUMENT;
    return problem_.call(ctx_, buffers_);
}

std::vector<float> Bound::download(int array) const {
    const Array& arr = problem_.arrays[size_t(array)];
    std::vector<float> v(arr.f.size(), std::nanf(""));
    if (!buffers_[size_t(array)] || fg_buffer_download(buffers_[size_t(array)], 0, v.data(), v.size() * 4) != FG_OK)
        std::fill(v.begin(), v.end(), std::nanf(""));
    return v;
}

Outputs run(fg_context* ctx, const Problem& problem) {
    Outputs out;
    out.values.resize(problem.arrays.size());
    Bound bound(ctx, problem);
    if (!bound.ok()) {
        out.error = bound.error();
        return out;
    }
    const fg_status s = bound.call();
    if (s != FG_OK) {
        out.error = std::string(fg_status_string(s)) + ": " + fg_last_error();
        return out;
    }
    if (fg_context_synchronize(ctx) != FG_OK) out.error = std::string("synchronize: ") + fg_last_error();
    for (size_t a = 0; a < problem.arrays.size(); ++a)
        if (problem.arrays[a].output) out.values[a] = bound.download(int(a));
    return out;
}

void Verdict::fail(const std::string& why) {
    pass = false;
    if (notes.size() < 16) notes.push_back(why);
}

void Verdict::check(const std::string& what, const std::vector<float>& got, const std::vector<double>& want,
                    const std::vector<size_t>& at, double rt, double at_tol, const char* against) {
    rtol = std::max(rtol, rt);
    atol = std::max(atol, at_tol);
    const size_t n = want.size();
    if (at.empty() ? got.size() != n : at.size() != n) {
        fail(what + ": " + std::to_string(got.size()) + " elements, expected " + std::to_string(n));
        return;
    }
    size_t bad = 0;
    for (size_t j = 0; j < n; ++j) {
        const size_t i = at.empty() ? j : at[j];
        if (i >= got.size()) {
            fail(what + ": index " + std::to_string(i) + " past the output");
            return;
        }
        const double g = got[i], w = want[j], err = std::fabs(g - w);
        const bool finite = std::isfinite(g) && std::isfinite(w);
        if (finite) {
            max_abs = std::max(max_abs, err);
            if (std::fabs(w) > at_tol) max_rel = std::max(max_rel, err / std::fabs(w));
        }
        if (!finite || err > at_tol + rt * std::fabs(w)) {
            if (bad < 4) {
                char line[256];
                std::snprintf(line, sizeof line, "%s[%zu of %zu]: got %.9g, %s %.9g (|diff| %.3g)%s", what.c_str(), i,
                              got.size(), g, against, w, err, finite ? "" : " not finite (unwritten or NaN)");
                notes.push_back(line);
            }
            ++bad;
        }
    }
    if (bad) fail(what + ": " + std::to_string(bad) + " of " + std::to_string(n) + " elements differ (rtol " +
                  std::to_string(rt) + ", atol " + std::to_string(at_tol) + ")");
}

std::string Verdict::summary() const {
    char head[160];
    std::snprintf(head, sizeof head, "max abs %.3g, max rel %.3g (rtol %.0e, atol %.1e)", max_abs, max_rel, rtol, atol);
    std::string s = head;
    for (const std::string& n : notes) s += "\n  " + n;
    return s;
}

Verdict against_oracle(const Problem& problem, const std::vector<Expect>& expects, const Outputs& got) {
    Verdict v;
    if (!got.error.empty()) {
        v.fail("call failed: " + got.error);
        return v;
    }
    for (const Expect& e : expects)
        if (!e.want.empty())
            v.check(problem.arrays[size_t(e.array)].name, got.values[size_t(e.array)], e.want, e.at, e.rtol, e.atol,
                    "oracle");
    return v;
}

Verdict against_reference(const Problem& problem, const std::vector<Expect>& expects, const Outputs& got,
                          const Outputs& reference) {
    Verdict v;
    if (!got.error.empty()) v.fail("call failed: " + got.error);
    if (!reference.error.empty()) v.fail("the cpu call failed: " + reference.error);
    if (!v.pass) return v;
    for (const Expect& e : expects) {
        const std::vector<float>& ref = reference.values[size_t(e.array)];
        double scale = 1;
        if (e.atol_times_max)
            for (float x : ref)
                if (std::isfinite(x)) scale = std::max(scale, 1.0 + std::fabs(double(x)));
        v.check(problem.arrays[size_t(e.array)].name, got.values[size_t(e.array)],
                std::vector<double>(ref.begin(), ref.end()), {}, e.rtol, e.atol * scale, "cpu");
    }
    return v;
}

std::unique_ptr<Prepared> prepare(fg_context* ctx, const Case& entry, bool validate) {
    auto p = std::make_unique<Prepared>();
    p->problem = entry.make();
    p->bound = std::make_unique<Bound>(ctx, p->problem);
    if (!p->bound->ok()) {
        p->verdict.fail(p->bound->error());
        return p;
    }
    if (!validate) return p;
    Outputs got;
    got.values.resize(p->problem.arrays.size());
    const fg_status s = p->bound->call();
    if (s != FG_OK || fg_context_synchronize(ctx) != FG_OK) {
        got.error = std::string(fg_status_string(s)) + ": " + fg_last_error();
    } else {
        for (size_t a = 0; a < p->problem.arrays.size(); ++a)
            if (p->problem.arrays[a].output) got.values[a] = p->bound->download(int(a));
    }
    p->verdict = against_oracle(p->problem, p->problem.oracle(p->problem), got);
    p->validated = true;
    if (p->bound->reset() != FG_OK) p->verdict.fail(std::string("resetting the outputs: ") + fg_last_error());
    return p;
}

fg_context* create_context(int32_t backend, std::string* why, int32_t tf32) {
    fg_context_options o{};
    o.size = sizeof o;
    o.backend = backend;
    o.seed = 1;
    o.gemm_tf32 = tf32;
    fg_context* c = nullptr;
    if (fg_context_create(&o, &c) != FG_OK) {
        if (why) *why = fg_last_error();
        return nullptr;
    }
    return c;
}

bool backend_available(int32_t backend, std::string* why) {
    int32_t available = 0;
    char reason[512] = {0};
    if (fg_backend_probe(backend, &available, reason, sizeof reason) != FG_OK) {
        if (why) *why = fg_last_error();
        return false;
    }
    if (why) *why = reason;
    return available == 1;
}

}  // namespace optable
