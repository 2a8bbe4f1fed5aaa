// The backend registry: creates a backend for a context. The CPU backend is built in; the CUDA
// backend is the forwardgrad_cuda plug-in, loaded once on first use (dlopen / LoadLibrary).
#pragma once
#include <memory>
#include <string>

#include "backend.h"

namespace fg {

std::unique_ptr<Backend> create_backend(const fg_context_options& options);
// Whether `backend` can be used here; when not, `reason` says why.
bool probe_backend(int32_t backend, std::string& reason);

}  // namespace fg

