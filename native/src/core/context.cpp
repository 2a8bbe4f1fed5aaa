#include "context.h"

#include <limits>
#include <memory>

namespace fg {

void context_retain(fg_context* c) noexcept { c->references.fetch_add(1); }

void context_release(fg_context* c) noexcept {
    if (c->references.fetch_sub(1) == 1) {
        if (c->scratch) c->deallocate(c->scratch, c->scratch_bytes);
        delete c;
    }
}

fg_buffer* new_buffer(fg_context& c, uint64_t bytes) {
    auto b = std::make_unique<fg_buffer>();
    b->data = c.allocate(bytes);
    b->bytes = bytes;
    b->context = &c;
    context_retain(&c);
    return b.release();
}

void free_buffer(fg_buffer* b) noexcept {
    if (!b) return;
    fg_context* c = b->context;
    c->deallocate(b->data, b->bytes);
    delete b;
    context_release(c);
}

fg_context& check_context(fg_context* c) {
    if (!c) invalid("context is NULL");
    return *c;
}

void check_positive(const char* name, int64_t value) {
    if (value < 1) invalid(std::string(name) + " must be >= 1 (got " + std::to_string(value) + ")");
}

void check_nonnegative(const char* name, int64_t value) {
    if (value < 0) invalid(std::string(name) + " must be >= 0 (got " + std::to_string(value) + ")");
}

void check_divides(const char* divisor_name, int64_t divisor, const char* name, int64_t value) {
    check_positive(divisor_name, divisor);
    if (value % divisor != 0)
        invalid(std::string(divisor_name) + " (" + std::to_string(divisor) + ") must divide " + name + " (" +
                std::to_string(value) + ")");
}

uint64_t elements(std::initializer_list<int64_t> dims) {
    uint64_t total = 1;
    for (int64_t d : dims) {
        if (d < 0) invalid("negative dimension " + std::to_string(d));
        if (d != 0 && total > std::numeric_limits<uint64_t>::max() / 4 / static_cast<uint64_t>(d))
            invalid("shape too large: element count overflows");
        total *= static_cast<uint64_t>(d);
    }
    return total;
}

namespace {
void* checked(fg_context& c, const fg_buffer* b, uint64_t count, size_t elem, const char* name) {
    if (!b) invalid(std::string(name) + " is NULL");
    if (b->context != &c)
        invalid(std::string(name) + " belongs to another context (buffers of one backend cannot be used by another)");
    if (b->bytes / elem < count)
        invalid(std::string(name) + " is too small: holds " + std::to_string(b->bytes / elem) + " elements, needs " +
                std::to_string(count));
    return b->data;
}
}  // namespace

const float* in_f32(fg_context& c, const fg_buffer* b, uint64_t count, const char* name) {
    return static_cast<const float*>(checked(c, b, count, sizeof(float), name));
}
float* out_f32(fg_context& c, fg_buffer* b, uint64_t count, const char* name) {
    return static_cast<float*>(checked(c, b, count, sizeof(float), name));
}
const int32_t* in_i32(fg_context& c, const fg_buffer* b, uint64_t count, const char* name) {
    return static_cast<const int32_t*>(checked(c, b, count, sizeof(int32_t), name));
}
const float* opt_in_f32(fg_context& c, const fg_buffer* b, uint64_t count, const char* name) {
    return b ? in_f32(c, b, count, name) : nullptr;
}
float* opt_out_f32(fg_context& c, fg_buffer* b, uint64_t count, const char* name) {
    return b ? out_f32(c, b, count, name) : nullptr;
}

}  // namespace fg

void* fg_context::allocate(size_t bytes) {
    void* p = backend->allocate(bytes);
    uint64_t now = live_bytes.fetch_add(bytes) + bytes;
    uint64_t peak = peak_bytes.load();
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
    }
    return p;
}

void fg_context::deallocate(void* p, size_t bytes) noexcept {
    if (!p) return;
    backend->deallocate(p);
    live_bytes.fetch_sub(bytes);
}

float* fg_context::scratch_floats(size_t floats) {
    std::lock_guard<std::mutex> lock(scratch_mutex);
    size_t bytes = floats * sizeof(float);
    if (bytes > scratch_bytes) {
        if (scratch) deallocate(scratch, scratch_bytes);
        scratch = nullptr;
        scratch_bytes = 0;
        scratch = allocate(bytes);
        scratch_bytes = bytes;
    }
    return static_cast<float*>(scratch);
}
