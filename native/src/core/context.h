// Context and buffer objects behind the opaque C handles, and the argument checks every op uses.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "backend.h"
#include "error.h"

struct fg_context {
    fg_context_options options{};
    std::unique_ptr<fg::Backend> backend;
    std::atomic<uint64_t> live_bytes{0};
    std::atomic<uint64_t> peak_bytes{0};
    // One reference for the caller's handle, one for each live buffer.
    std::atomic<int64_t> references{1};
    // Scratch space for composite ops, grown on demand and reused (counted in live_bytes).
    std::mutex scratch_mutex;
    void* scratch = nullptr;
    size_t scratch_bytes = 0;
    // The most a local activity method's step keeps of one block's noise for its estimate; above it the noise
    // is drawn again instead (FG_KEEP_NOISE_MB at context creation; default kDefaultKeepNoiseBytes).
    uint64_t keep_noise_max_bytes = 0;
    static constexpr uint64_t kDefaultKeepNoiseBytes = uint64_t(64) << 20;

    fg::Backend& be() { return *backend; }
    // Allocates through the backend and counts the bytes.
    void* allocate(size_t bytes);
    void deallocate(void* p, size_t bytes) noexcept;
    // At least `floats` floats of scratch, valid until the next scratch() call on this context.
    float* scratch_floats(size_t floats);
};

struct fg_buffer {
    fg_context* context = nullptr;
    void* data = nullptr;
    uint64_t bytes = 0;
};

namespace fg {

void context_retain(fg_context* c) noexcept;
void context_release(fg_context* c) noexcept;

// A buffer of `bytes` on context c (counted in its live bytes; holds a reference to c), and its release.
fg_buffer* new_buffer(fg_context& c, uint64_t bytes);
void free_buffer(fg_buffer* b) noexcept;

// Checks for op arguments. `name` is the parameter name in forwardgrad.h; the message names it,
// its size and what was needed.
fg_context& check_context(fg_context* c);
void check_positive(const char* name, int64_t value);  // value >= 1
void check_nonnegative(const char* name, int64_t value);
void check_divides(const char* divisor_name, int64_t divisor, const char* name, int64_t value);
// Multiplies element counts, throwing on overflow.
uint64_t elements(std::initializer_list<int64_t> dims);

const float* in_f32(fg_context& c, const fg_buffer* b, uint64_t count, const char* name);
float* out_f32(fg_context& c, fg_buffer* b, uint64_t count, const char* name);
const int32_t* in_i32(fg_context& c, const fg_buffer* b, uint64_t count, const char* name);
// Same, but NULL is allowed and gives nullptr.
const float* opt_in_f32(fg_context& c, const fg_buffer* b, uint64_t count, const char* name);
float* opt_out_f32(fg_context& c, fg_buffer* b, uint64_t count, const char* name);

}  // namespace fg
