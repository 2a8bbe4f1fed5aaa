// C ABI: one optimizer step over a list of parameter tensors (SGD with momentum, AdamW).
// Every argument is checked before any tensor is touched, so a bad entry leaves all unchanged.
#include <cmath>
#include <string>

#include "context.h"

using fg::guard;
using fg::invalid;

namespace {

std::string indexed(const char* name, int32_t i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

void check_range(const char* name, double value, double lo, bool lo_open, double hi) {
    bool ok = std::isfinite(value) && (lo_open ? value > lo : value >= lo) && value < hi;
    if (!ok)
        invalid(std::string("params->") + name + " is " + std::to_string(value) + ", must be in " +
                (lo_open ? "(" : "[") + std::to_string(lo) + ", " + (std::isinf(hi) ? "inf" : std::to_string(hi)) + ")");
}

void check_hyperparameters(const fg_optimizer_params* hp) {
    if (!hp) invalid("params is NULL");
    if (hp->size < sizeof(fg_optimizer_params))
        invalid("params->size is " + std::to_string(hp->size) + ", expected sizeof(fg_optimizer_params) = " +
                std::to_string(sizeof(fg_optimizer_params)));
    if (hp->kind != FG_OPT_SGD && hp->kind != FG_OPT_ADAMW)
        invalid("params->kind is " + std::to_string(hp->kind) + ", must be FG_OPT_SGD (0) or FG_OPT_ADAMW (1)");
    const double inf = INFINITY;
    check_range("lr", hp->lr, 0.0, false, inf);
    check_range("weight_decay", hp->weight_decay, 0.0, false, inf);
    if (hp->kind == FG_OPT_SGD) {
        check_range("momentum", hp->momentum, 0.0, false, inf);
        if (hp->decoupled != 0 && hp->decoupled != 1)
            invalid("params->decoupled is " + std::to_string(hp->decoupled) + ", must be 0 or 1");
    } else {
        check_range("beta1", hp->beta1, 0.0, false, 1.0);
        check_range("beta2", hp->beta2, 0.0, false, 1.0);
        check_range("eps", hp->eps, 0.0, true, inf);
        if (hp->step < 1) invalid("params->step is " + std::to_string(hp->step) + ", must be >= 1 (1-based)");
    }
}

// The same-sized tensors of parameter i; the state2 pointer stays null for SGD.
struct Entry {
    int64_t count;
    float *param, *state1, *state2;
    const float* grad;
    bool decay;
};

// Checks by hand rather than with fg::out_f32 so that messages (strings) are built only on failure.
float* entry_buffer(fg_context& c, fg_buffer* b, uint64_t bytes, const char* name, int32_t i) {
    if (!b) invalid(indexed(name, i) + " is NULL");
    if (b->context != &c)
        invalid(indexed(name, i) + " belongs to another context (buffers of one backend cannot be used by another)");
    if (b->bytes != bytes)
        invalid(indexed(name, i) + " holds " + std::to_string(b->bytes) + " bytes, parameters[" + std::to_string(i) +
                "] holds " + std::to_string(bytes) + " (they must have the same size)");
    return static_cast<float*>(b->data);
}

Entry check_entry(fg_context& c, const fg_optimizer_params& hp, int32_t i, fg_buffer* const* parameters,
                  fg_buffer* const* grads, fg_buffer* const* state1, fg_buffer* const* state2, const int32_t* decay) {
    fg_buffer* p = parameters[i];
    const uint64_t bytes = p ? p->bytes : 0;
    Entry e{};
    e.param = entry_buffer(c, p, bytes, "parameters", i);
    if (bytes % sizeof(float) != 0)
        invalid(indexed("parameters", i) + " holds " + std::to_string(bytes) + " bytes, not a whole number of floats");
    e.count = static_cast<int64_t>(bytes / sizeof(float));
    e.grad = entry_buffer(c, grads[i], bytes, "grads", i);
    e.state1 = entry_buffer(c, state1[i], bytes, "state1", i);
    if (hp.kind == FG_OPT_ADAMW) e.state2 = entry_buffer(c, state2[i], bytes, "state2", i);
    const fg_buffer* distinct[] = {p, grads[i], state1[i], hp.kind == FG_OPT_ADAMW ? state2[i] : nullptr};
    for (int a = 0; a < 4; ++a)
        for (int b = a + 1; b < 4; ++b)
            if (distinct[a] && distinct[a] == distinct[b])
                invalid("parameters, grads, state1 and state2 at index " + std::to_string(i) +
                        " must be distinct buffers");
    if (decay[i] != 0 && decay[i] != 1)
        invalid(indexed("decay", i) + " is " + std::to_string(decay[i]) + ", must be 0 or 1");
    e.decay = decay[i] == 1;
    return e;
}

}  // namespace

extern "C" {

FG_API fg_status fg_optimizer_step(fg_context* context, const fg_optimizer_params* params, int32_t count,
                                   fg_buffer* const* parameters, fg_buffer* const* grads, fg_buffer* const* state1,
                                   fg_buffer* const* state2, const int32_t* decay) {
    return guard("fg_optimizer_step", [&] {
        fg_context& c = fg::check_context(context);
        check_hyperparameters(params);
        fg::check_positive("count", count);
        if (!parameters) invalid("parameters is NULL");
        if (!grads) invalid("grads is NULL");
        if (!state1) invalid("state1 is NULL");
        if (params->kind == FG_OPT_ADAMW && !state2) invalid("state2 is NULL (required for FG_OPT_ADAMW)");
        if (!decay) invalid("decay is NULL");
        // Two passes instead of a list of entries: a training step allocates nothing.
        for (int32_t i = 0; i < count; ++i) check_entry(c, *params, i, parameters, grads, state1, state2, decay);
        for (int32_t i = 0; i < count; ++i) {
            const Entry e = check_entry(c, *params, i, parameters, grads, state1, state2, decay);
            c.be().optimizer_update(*params, e.count, e.param, e.grad, e.state1, e.state2, e.decay);
        }
    });
}

}  // extern "C"
