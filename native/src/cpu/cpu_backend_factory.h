// What the core knows of the CPU backend: a factory behind the Backend interface, and the GEMM
// provider's description for fg_gemm_provider_info_get. Nothing else of src/cpu is visible to the core.
#pragma once
#include <memory>

#include "../core/backend.h"

namespace fg {

std::unique_ptr<Backend> make_cpu_backend(int32_t threads);

// Fills every field of `out` but size from the process's GEMM provider (loaded on first use).
void describe_cpu_gemm_provider(fg_gemm_provider_info& out);

}  // namespace fg
