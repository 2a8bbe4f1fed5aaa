// The comm plug-in's thread-local message (core/error.cpp) and status names.
#include "comm_internal.h"


extern "C" FG_COMM_API const char* fg_comm_last_error(void) { return fgc::last_error(); }

extern "C" FG_COMM_API const char* fg_comm_status_string(fg_status status) {
    switch (status) {
        case FG_OK: return "FG_OK";
        case FG_ERR_INVALID_ARGUMENT: return "FG_ERR_INVALID_ARGUMENT";
        case FG_ERR_OUT_OF_MEMORY: return "FG_ERR_OUT_OF_MEMORY";
        case FG_ERR_UNSUPPORTED: return "FG_ERR_UNSUPPORTED";
        case FG_ERR_BACKEND: return "FG_ERR_BACKEND";
        case FG_ERR_INTERNAL: return "FG_ERR_INTERNAL";
        case FG_ERR_COMM_TIMEOUT: return "FG_ERR_COMM_TIMEOUT";
        case FG_ERR_COMM_PEER: return "FG_ERR_COMM_PEER";
        case FG_ERR_COMM_MISMATCH: return "FG_ERR_COMM_MISMATCH";
        default: return "FG_ERR_UNKNOWN";
    }
}
