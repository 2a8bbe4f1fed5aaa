// C ABI: random tangents (Philox4x32-10 normals) and the raw Philox block for known-answer tests.
#include "context.h"
#include "philox.h"

using fg::guard;
using fg::invalid;

extern "C" {

FG_API fg_status fg_random_normal(fg_context* context, fg_buffer* out, uint64_t count, uint64_t seed, uint32_t step,
                                  uint32_t tensor_id) {
    return guard("fg_random_normal", [&] {
        fg_context& c = fg::check_context(context);
        if (count > UINT64_MAX / sizeof(float)) invalid("count (" + std::to_string(count) + ") is too large");
        float* o = fg::out_f32(c, out, count, "out");
        if (count == 0) return;
        c.be().random_normal(o, count, seed, step, tensor_id, 0);
    });
}

FG_API fg_status fg_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    return guard("fg_philox4x32_10", [&] {
        if (!counter) invalid("counter is NULL");
        if (!key) invalid("key is NULL");
        if (!out) invalid("out is NULL");
        const fg::philox::Block r =
            fg::philox::philox4x32_10(fg::philox::Block{{counter[0], counter[1], counter[2], counter[3]}}, key[0], key[1]);
        for (int i = 0; i < 4; ++i) out[i] = r.v[i];
    });
}

}  // extern "C"
