// Per-thread scratch memory for the CPU kernels: grown on demand, kept for the thread's life, never shrunk.
#pragma once
#include <cstddef>
#include <vector>

namespace fg::cpu {

// At least `floats` floats for this thread, valid until the next call with the same Owner on it. Each Owner
// (a tag type of the calling file) has a buffer of its own, so kernels that nest never share one.
template <class Owner>
float* thread_scratch(size_t floats) {
    thread_local std::vector<float> buffer;
    if (buffer.size() < floats) buffer.resize(floats);
    return buffer.data();
}

}  // namespace fg::cpu
