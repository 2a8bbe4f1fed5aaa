// C ABI: version, status, errors, backends, contexts, buffers, GEMM.
#include <algorithm>
#include <cstddef>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "context.h"
#include "registry.h"
#include "text.h"
#include "../cpu/cpu_backend_factory.h"

#ifndef FG_VERSION_STRING
#define FG_VERSION_STRING "0.1.0"
#endif

using fg::guard;
using fg::invalid;

extern "C" {

FG_API int32_t fg_abi_version(void) { return FG_ABI_VERSION; }

FG_API const char* fg_version(void) { return FG_VERSION_STRING; }

FG_API const char* fg_status_string(fg_status status) {
    switch (status) {
        case FG_OK: return "FG_OK";
        case FG_ERR_INVALID_ARGUMENT: return "FG_ERR_INVALID_ARGUMENT";
        case FG_ERR_OUT_OF_MEMORY: return "FG_ERR_OUT_OF_MEMORY";
        case FG_ERR_UNSUPPORTED: return "FG_ERR_UNSUPPORTED";
        case FG_ERR_NO_DEVICE: return "FG_ERR_NO_DEVICE";
        case FG_ERR_BACKEND: return "FG_ERR_BACKEND";
        case FG_ERR_INTERNAL: return "FG_ERR_INTERNAL";
        default: return "FG_ERR_UNKNOWN_STATUS";
    }
}

FG_API const char* fg_last_error(void) { return fg::last_error(); }

FG_API fg_status fg_backend_probe(int32_t backend, int32_t* available, char* reason, int32_t reason_capacity) {
    return guard("fg_backend_probe", [&] {
        if (!available) invalid("available is NULL");
        if (reason && reason_capacity < 1) invalid("reason_capacity must be >= 1 when reason is given");
        std::string why;
        *available = fg::probe_backend(backend, why) ? 1 : 0;
        if (reason) fg::copy_text(reason, static_cast<size_t>(reason_capacity), why);
    });
}

FG_API fg_status fg_gemm_provider_info_get(fg_gemm_provider_info* out) {
    return guard("fg_gemm_provider_info_get", [&] {
        if (!out) invalid("out_info is NULL");
        if (out->size < sizeof(fg_gemm_provider_info))
            invalid("out_info->size is " + std::to_string(out->size) +
                    ", expected sizeof(fg_gemm_provider_info) = " + std::to_string(sizeof(fg_gemm_provider_info)));
        const uint32_t size = out->size;
        std::memset(out, 0, sizeof(fg_gemm_provider_info));
        out->size = size;
        fg::describe_cpu_gemm_provider(*out);
    });
}

FG_API fg_status fg_context_create(const fg_context_options* options, fg_context** out_context) {
    return guard("fg_context_create", [&] {
        if (!out_context) invalid("out_context is NULL");
        *out_context = nullptr;
        if (!options) invalid("options is NULL");
        // Fields after seed came later: a caller built against the shorter struct gets them as 0.
        const size_t oldest = offsetof(fg_context_options, seed) + sizeof(options->seed);
        if (options->size < oldest)
            invalid("options->size is " + std::to_string(options->size) + ", expected sizeof(fg_context_options) = " +
                    std::to_string(sizeof(fg_context_options)));
        fg_context_options o{};
        std::memcpy(&o, options, std::min<size_t>(options->size, sizeof o));
        if (o.cpu_threads < 0) invalid("options->cpu_threads must be >= 0 (0 = default)");
        if (o.device < 0) invalid("options->device must be >= 0");
        if (o.gemm_tf32 != 0 && o.gemm_tf32 != 1)
            invalid("options->gemm_tf32 must be 0 or 1 (got " + std::to_string(o.gemm_tf32) + ")");
        auto context = std::make_unique<fg_context>();
        context->options = o;
        context->keep_noise_max_bytes = fg_context::kDefaultKeepNoiseBytes;
        if (const char* keep = std::getenv("FG_KEEP_NOISE_MB"))
            context->keep_noise_max_bytes = static_cast<uint64_t>(std::max(0L, std::atol(keep))) << 20;
        context->backend = fg::create_backend(o);
        *out_context = context.release();
    });
}

FG_API fg_status fg_context_free(fg_context* context) {
    if (context) fg::context_release(context);
    return FG_OK;
}

FG_API fg_status fg_context_info(fg_context* context, fg_context_properties* out) {
    return guard("fg_context_info", [&] {
        fg_context& c = fg::check_context(context);
        if (!out) invalid("out_properties is NULL");
        if (out->size < sizeof(fg_context_properties))
            invalid("out_properties->size is " + std::to_string(out->size) +
                    ", expected sizeof(fg_context_properties) = " + std::to_string(sizeof(fg_context_properties)));
        uint32_t size = out->size;
        std::memset(out, 0, sizeof(fg_context_properties));
        out->size = size;
        out->backend = c.options.backend;
        out->device = c.options.device;
        out->cpu_threads = c.options.cpu_threads;
        out->seed = c.options.seed;
        c.be().describe(*out);
        out->live_bytes = c.live_bytes.load();
        out->peak_bytes = c.peak_bytes.load();
    });
}

FG_API fg_status fg_context_synchronize(fg_context* context) {
    return guard("fg_context_synchronize", [&] { fg::check_context(context).be().synchronize(); });
}

FG_API fg_status fg_context_live_bytes(fg_context* context, uint64_t* out_bytes) {
    return guard("fg_context_live_bytes", [&] {
        fg_context& c = fg::check_context(context);
        if (!out_bytes) invalid("out_bytes is NULL");
        *out_bytes = c.live_bytes.load();
    });
}

FG_API fg_status fg_buffer_alloc(fg_context* context, uint64_t bytes, fg_buffer** out_buffer) {
    return guard("fg_buffer_alloc", [&] {
        if (!out_buffer) invalid("out_buffer is NULL");
        *out_buffer = nullptr;
        fg_context& c = fg::check_context(context);
        if (bytes == 0) invalid("bytes must be >= 1");
        *out_buffer = fg::new_buffer(c, bytes);
    });
}

FG_API fg_status fg_buffer_free(fg_buffer* buffer) {
    fg::free_buffer(buffer);
    return FG_OK;
}

FG_API fg_status fg_buffer_size(const fg_buffer* buffer, uint64_t* out_bytes) {
    return guard("fg_buffer_size", [&] {
        if (!buffer) invalid("buffer is NULL");
        if (!out_bytes) invalid("out_bytes is NULL");
        *out_bytes = buffer->bytes;
    });
}

namespace {
void check_range(const fg_buffer* buffer, const char* name, uint64_t offset, uint64_t bytes) {
    if (!buffer) invalid(std::string(name) + " is NULL");
    if (offset > buffer->bytes || bytes > buffer->bytes - offset)
        invalid(std::string(name) + ": range [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
                ") is outside the buffer of " + std::to_string(buffer->bytes) + " bytes");
}
char* at(const fg_buffer* b, uint64_t offset) { return static_cast<char*>(b->data) + offset; }
}  // namespace

FG_API fg_status fg_buffer_upload(fg_buffer* buffer, uint64_t offset_bytes, const void* source, uint64_t bytes) {
    return guard("fg_buffer_upload", [&] {
        check_range(buffer, "buffer", offset_bytes, bytes);
        if (bytes == 0) return;
        if (!source) invalid("source is NULL");
        buffer->context->be().upload(at(buffer, offset_bytes), source, bytes);
    });
}

FG_API fg_status fg_buffer_download(const fg_buffer* buffer, uint64_t offset_bytes, void* destination,
                                    uint64_t bytes) {
    return guard("fg_buffer_download", [&] {
        check_range(buffer, "buffer", offset_bytes, bytes);
        if (bytes == 0) return;
        if (!destination) invalid("destination is NULL");
        buffer->context->be().download(destination, at(buffer, offset_bytes), bytes);
    });
}

FG_API fg_status fg_buffer_fill_f32(fg_buffer* buffer, uint64_t offset, uint64_t count, float value) {
    return guard("fg_buffer_fill_f32", [&] {
        if (offset > UINT64_MAX / 4 || count > UINT64_MAX / 4) invalid("offset/count too large");
        check_range(buffer, "buffer", offset * sizeof(float), count * sizeof(float));
        if (count == 0) return;
        buffer->context->be().fill(reinterpret_cast<float*>(at(buffer, offset * sizeof(float))), count, value);
    });
}

FG_API fg_status fg_buffer_copy(fg_buffer* destination, uint64_t destination_offset_bytes, const fg_buffer* source,
                                uint64_t source_offset_bytes, uint64_t bytes) {
    return guard("fg_buffer_copy", [&] {
        check_range(destination, "destination", destination_offset_bytes, bytes);
        check_range(source, "source", source_offset_bytes, bytes);
        if (destination->context != source->context) invalid("destination and source belong to different contexts");
        if (bytes == 0) return;
        const char* s = at(source, source_offset_bytes);
        char* d = at(destination, destination_offset_bytes);
        if (s < d + bytes && d < s + bytes) invalid("source and destination ranges overlap");
        destination->context->be().copy(d, s, bytes);
    });
}

FG_API fg_status fg_gemm(fg_context* context, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                         float alpha, const fg_buffer* a, const fg_buffer* b, float beta, fg_buffer* c) {
    return guard("fg_gemm", [&] {
        fg_context& ctx = fg::check_context(context);
        if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1))
            invalid("trans_a/trans_b must be FG_NO_TRANS (0) or FG_TRANS (1)");
        fg::check_positive("m", m);
        fg::check_positive("n", n);
        fg::check_positive("k", k);
        const float* a_p = fg::in_f32(ctx, a, fg::elements({m, k}), "a");
        const float* b_p = fg::in_f32(ctx, b, fg::elements({k, n}), "b");
        float* c_p = fg::out_f32(ctx, c, fg::elements({m, n}), "c");
        const fg::GemmArgs g = fg::contiguous_gemm(trans_a, trans_b, m, n, k, alpha, a_p, b_p, beta, c_p);
        ctx.be().gemm(g);
    });
}

}  // extern "C"
