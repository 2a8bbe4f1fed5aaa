// Strings into the fixed-size char arrays of the C ABI's structs.
#pragma once
#include <algorithm>
#include <cstring>
#include <string>

namespace fg {

// Copies s into dst (capacity bytes, capacity >= 1), truncating, always NUL-terminated.
inline void copy_text(char* dst, size_t capacity, const std::string& s) {
    const size_t n = std::min(s.size(), capacity - 1);
    std::memcpy(dst, s.data(), n);
    dst[n] = '\0';
}

}  // namespace fg
