#include "registry.h"

#include <cstdlib>
#include <mutex>
#include <vector>

#include "../cpu/cpu_backend_factory.h"
#include "error.h"
#include "plugin_backend.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace fg {
namespace {

#if defined(_WIN32)
const char* kPluginFile = "forwardgrad_cuda.dll";
#elif defined(__APPLE__)
const char* kPluginFile = "libforwardgrad_cuda.dylib";
#else
const char* kPluginFile = "libforwardgrad_cuda.so";
#endif

// The loaded plug-in; written once under std::call_once, immutable afterwards.
struct Plugin {
    fg_backend_plugin_probe_fn probe = nullptr;
    fg_backend_plugin_create_fn create = nullptr;
    std::string error;  // why it could not be loaded
};

std::string own_directory() {
#if defined(_WIN32)
    HMODULE module = nullptr;
    char path[MAX_PATH] = {0};
    if (GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                           reinterpret_cast<LPCSTR>(&own_directory), &module) &&
        GetModuleFileNameA(module, path, MAX_PATH)) {
        std::string p(path);
        return p.substr(0, p.find_last_of("\\/") + 1);
    }
#else
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&own_directory), &info) && info.dli_fname) {
        std::string p(info.dli_fname);
        auto slash = p.find_last_of('/');
        if (slash != std::string::npos) return p.substr(0, slash + 1);
    }
#endif
    return "";
}

void* open_library(const std::string& path, std::string& error) {
#if defined(_WIN32)
    void* h = reinterpret_cast<void*>(LoadLibraryA(path.c_str()));
    if (!h) error = "LoadLibrary failed with code " + std::to_string(GetLastError());
    return h;
#else
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* e = dlerror();
        error = e ? e : "dlopen failed";
    }
    return h;
#endif
}

void close_library(void* library) {
#if defined(_WIN32)
    FreeLibrary(reinterpret_cast<HMODULE>(library));
#else
    dlclose(library);
#endif
}

void* find_symbol(void* library, const char* name) {
#if defined(_WIN32)
    return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(library), name));
#else
    return dlsym(library, name);
#endif
}

// Takes `library`'s entry points into `out` when it is a plug-in of this core's ABI; else says why.
bool accept_plugin(void* library, Plugin& out, std::string& why) {
    auto abi = reinterpret_cast<fg_backend_plugin_abi_fn>(find_symbol(library, "fg_backend_plugin_abi"));
    auto version = reinterpret_cast<fg_backend_plugin_version_fn>(find_symbol(library, "fg_backend_plugin_version"));
    auto probe = reinterpret_cast<fg_backend_plugin_probe_fn>(find_symbol(library, "fg_backend_plugin_probe"));
    auto create = reinterpret_cast<fg_backend_plugin_create_fn>(find_symbol(library, "fg_backend_plugin_create"));
    if (!abi || !version || !probe || !create) {
        why = "not a ForwardGrad backend plug-in of this version (entry points fg_backend_plugin_* missing; a plug-in "
              "older than libforwardgrad " + std::string(fg_version()) + "?): install the matching plug-in";
        return false;
    }
    if (const int32_t plugin_abi = abi(); plugin_abi != FG_BACKEND_PLUGIN_ABI_VERSION) {
        const char* v = version();
        why = "built for backend plug-in ABI " + std::to_string(plugin_abi) + " (plug-in version " + (v ? v : "?") +
              "), but this libforwardgrad " + fg_version() + " needs ABI " +
              std::to_string(FG_BACKEND_PLUGIN_ABI_VERSION) +
              ": install ForwardGrad.Native.Cuda of the same version as ForwardGrad.Native, or build both from "
              "one source tree";
        return false;
    }
    out.probe = probe;
    out.create = create;
    return true;
}

const Plugin& plugin() {
    static Plugin instance;
    static std::once_flag once;
    std::call_once(once, [] {
        // FG_CUDA_PLUGIN names the one library to load; else next to the core, then the loader's path.
        std::vector<std::string> candidates;
        if (const char* env = std::getenv("FG_CUDA_PLUGIN"); env && *env) {
            candidates.emplace_back(env);
        } else {
            candidates.push_back(own_directory() + kPluginFile);
            candidates.emplace_back(kPluginFile);
        }
        std::string tried;
        for (const auto& path : candidates) {
            std::string error;
            void* library = open_library(path, error);
            if (!library) {
                tried += "\n  " + path + ": " + error;
                continue;
            }
            std::string why;
            if (accept_plugin(library, instance, why)) return;
            close_library(library);  // not ours to use: unmapped again
            tried += "\n  " + path + ": " + why;
        }
        instance.error = std::string("the CUDA plug-in ") + kPluginFile +
                         " could not be loaded (add the ForwardGrad.Native.Cuda package, or build it with a CUDA "
                         "toolkit, FG_CUDA=ON, and keep it next to the core library, or set FG_CUDA_PLUGIN). Tried:" +
                         tried;
    });
    return instance;
}

}  // namespace

bool probe_backend(int32_t backend, std::string& reason) {
    if (backend == FG_BACKEND_CPU) return true;
    if (backend != FG_BACKEND_CUDA) {
        reason = "unknown backend " + std::to_string(backend) + " (use FG_BACKEND_CPU=0 or FG_BACKEND_CUDA=1)";
        return false;
    }
    const Plugin& p = plugin();
    if (!p.probe) {
        reason = p.error;
        return false;
    }
    char buffer[512] = {0};
    if (p.probe(buffer, sizeof buffer)) return true;
    reason = buffer;
    return false;
}

std::unique_ptr<Backend> create_backend(const fg_context_options& options) {
    if (options.backend == FG_BACKEND_CPU) return make_cpu_backend(options.cpu_threads);
    if (options.backend != FG_BACKEND_CUDA)
        invalid("options.backend is " + std::to_string(options.backend) + " (use FG_BACKEND_CPU=0 or FG_BACKEND_CUDA=1)");
    const Plugin& p = plugin();
    if (!p.create) fail(FG_ERR_UNSUPPORTED, p.error);
    fg_backend_table table{};
    char error[512] = {0};
    const fg_status status = p.create(&options, &table, error, sizeof error);
    if (status != FG_OK) fail(status, error[0] ? error : "the CUDA plug-in could not create a backend");
    if (table.size != sizeof(fg_backend_table) || table.abi_version != FG_BACKEND_PLUGIN_ABI_VERSION || !table.self) {
        // A table of another layout cannot be trusted even to destroy its object: it is left alone.
        fail(FG_ERR_UNSUPPORTED, "the CUDA plug-in returned a backend table of " + std::to_string(table.size) +
                                     " bytes, ABI " + std::to_string(table.abi_version) + "; this libforwardgrad " +
                                     fg_version() + " expects " + std::to_string(sizeof(fg_backend_table)) +
                                     " bytes, ABI " + std::to_string(FG_BACKEND_PLUGIN_ABI_VERSION) +
                                     ": install matching versions of the core library and the plug-in");
    }
    return std::make_unique<PluginBackend>(table);
}

}  // namespace fg
