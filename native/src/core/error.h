// Errors inside the library are C++ exceptions; they never cross the C ABI.
// guard() turns each into an fg_status and records the message for fg_last_error().
#pragma once
#include <new>
#include <stdexcept>
#include <string>

#include "forwardgrad.h"

namespace fg {

#if defined(_WIN32)
#define FG_INTERNAL_EXPORT
#else
#define FG_INTERNAL_EXPORT __attribute__((visibility("default")))
#endif

// An error with a status code; the message should name the argument and the values. Each library
// (core, plug-in) catches its own: only statuses and messages cross the plug-in boundary.
class Error : public std::runtime_error {
public:
    Error(fg_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    fg_status status() const { return status_; }

private:
    fg_status status_;
};

[[noreturn]] inline void fail(fg_status status, const std::string& message) { throw Error(status, message); }
[[noreturn]] inline void invalid(const std::string& message) { throw Error(FG_ERR_INVALID_ARGUMENT, message); }

// Records `message` as this thread's last error and returns `status`.
fg_status set_last_error(fg_status status, const std::string& message) noexcept;
void clear_last_error() noexcept;
const char* last_error() noexcept;  // this thread's message ("" when none)

// Runs `body` (returning void) and maps every exception to a status. Used by every export.
template <class F>
fg_status guard(const char* function, F&& body) noexcept {
    try {
        body();
        return FG_OK;
    } catch (const Error& e) {
        return set_last_error(e.status(), std::string(function) + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return set_last_error(FG_ERR_OUT_OF_MEMORY, std::string(function) + ": out of host memory");
    } catch (const std::exception& e) {
        return set_last_error(FG_ERR_INTERNAL, std::string(function) + ": internal error: " + e.what());
    } catch (...) {
        return set_last_error(FG_ERR_INTERNAL, std::string(function) + ": unknown internal error");
    }
}

}  // namespace fg
