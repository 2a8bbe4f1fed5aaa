#include "error.h"

namespace fg {

namespace {
thread_local std::string t_last_error;
}

fg_status set_last_error(fg_status status, const std::string& message) noexcept {
    try {
        t_last_error = message;
    } catch (...) {
        // Out of memory while recording the message: keep the status at least.
    }
    return status;
}

void clear_last_error() noexcept { t_last_error.clear(); }

const char* last_error() noexcept { return t_last_error.c_str(); }
}  // namespace fg
