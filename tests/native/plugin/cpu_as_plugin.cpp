// A backend plug-in built from the CPU backend: loaded through FG_CUDA_PLUGIN it takes the CUDA
// backend's place, so the backend suites run through the plug-in boundary (C table, statuses,
// messages) on a machine without a GPU. FG_TEST_PLUGIN_ABI (a compile definition) builds a stale one.
#include "core/backend_export.h"
#include "cpu/cpu_backend_factory.h"

#ifndef FG_TEST_PLUGIN_ABI
#define FG_TEST_PLUGIN_ABI FG_BACKEND_PLUGIN_ABI_VERSION
#endif

extern "C" {

FG_INTERNAL_EXPORT int32_t fg_backend_plugin_abi(void) { return FG_TEST_PLUGIN_ABI; }

FG_INTERNAL_EXPORT const char* fg_backend_plugin_version(void) { return "test-plugin"; }

FG_INTERNAL_EXPORT int32_t fg_backend_plugin_probe(char* reason, int32_t capacity) { return 1; }

FG_INTERNAL_EXPORT fg_status fg_backend_plugin_create(const fg_context_options* options, fg_backend_table* out,
                                                      char* error, int32_t capacity) {
    const fg_status status = fg::backend_export::run(
        [&] { fg::backend_export::fill_table(fg::make_cpu_backend(options->cpu_threads), *out); });
    if (status != FG_OK) fg::backend_export::write_message(error, capacity, fg::backend_export::last_message);
    return status;
}

}  // extern "C"
