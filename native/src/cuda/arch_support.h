// Whether the plug-in's embedded kernels can run on a device of compute capability major.minor,
// decided from the CMake CUDA_ARCHITECTURES list the plug-in was built with. Plain C++ (no CUDA
// headers), so the decision is unit-tested on machines without a GPU.
//   "80-real"    sm_80 SASS: runs on 8.x devices with x >= 0 (cubins are forward compatible
//                within a major version)
//   "90-virtual" compute_90 PTX: the driver JIT-compiles it for any device >= 9.0
//   "90"         both
// Suffixed targets ("90a") run only on exactly that device. Lists CMake expands itself ("all",
// "native") give kUnknown: the caller then relies on the runtime's own check alone.
#pragma once
#include <cctype>
#include <string>
#include <vector>

namespace fg {

struct ArchTarget {
    int arch = 0;           // 80 for sm_80
    bool sass = false;      // a cubin for this arch is embedded
    bool ptx = false;       // PTX for this virtual arch is embedded
    bool exact = false;     // arch-specific ("90a"): no forward compatibility
};

// Parses "80-real;90" into targets; returns false for lists that are not plain numbers.
inline bool parse_arch_targets(const std::string& list, std::vector<ArchTarget>& out) {
    out.clear();
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find_first_of(";, ", start);
        if (end == std::string::npos) end = list.size();
        std::string item = list.substr(start, end - start);
        start = end + 1;
        if (item.empty()) continue;
        size_t digits = 0;
        while (digits < item.size() && std::isdigit(static_cast<unsigned char>(item[digits]))) ++digits;
        if (digits == 0) return false;
        ArchTarget t;
        t.arch = std::stoi(item.substr(0, digits));
        std::string rest = item.substr(digits);
        if (!rest.empty() && std::isalpha(static_cast<unsigned char>(rest[0])) && rest[0] != '-') {
            t.exact = true;
            rest = rest.substr(1);
        }
        if (rest == "-real") t.sass = true;
        else if (rest == "-virtual") t.ptx = true;
        else if (rest.empty()) t.sass = t.ptx = true;
        else return false;
        out.push_back(t);
    }
    return !out.empty();
}

// "sm_80/sm_90 (+PTX compute_90)"
inline std::string describe_arch_targets(const std::vector<ArchTarget>& targets) {
    std::string sass, ptx;
    for (const ArchTarget& t : targets) {
        const std::string suffix = t.exact ? "a" : "";
        if (t.sass) sass += (sass.empty() ? "sm_" : "/sm_") + std::to_string(t.arch) + suffix;
        if (t.ptx) ptx += (ptx.empty() ? "compute_" : "/compute_") + std::to_string(t.arch) + suffix;
    }
    if (sass.empty()) sass = "no SASS";
    return ptx.empty() ? sass : sass + " (+PTX " + ptx + ")";
}

enum class ArchFit { kNative, kPtxJit, kUnsupported, kUnknown };

struct ArchDecision {
    ArchFit fit = ArchFit::kUnknown;
    std::string message;  // why not / how (empty for kNative and kUnknown)
};

// `device` names the device in messages, e.g. "device 0 (NVIDIA H100 80GB HBM3)".
inline ArchDecision decide_arch(const std::string& list, int major, int minor, const std::string& device) {
    ArchDecision d;
    std::vector<ArchTarget> targets;
    if (!parse_arch_targets(list, targets)) return d;
    const int dev = major * 10 + minor;
    const std::string built = "built for " + describe_arch_targets(targets);
    const std::string is = device + " is sm_" + std::to_string(dev);
    const ArchTarget* jit = nullptr;
    for (const ArchTarget& t : targets) {
        if (t.sass && (t.exact ? t.arch == dev : (t.arch / 10 == major && t.arch % 10 <= minor))) {
            d.fit = ArchFit::kNative;
            return d;
        }
        if (t.ptx && !t.exact && t.arch <= dev && (!jit || t.arch > jit->arch)) jit = &t;
    }
    if (jit) {
        d.fit = ArchFit::kPtxJit;
        d.message = built + "; " + is + ": its kernels are JIT-compiled from compute_" + std::to_string(jit->arch) +
                    " PTX on first use (a one-time delay; rebuild with -DCMAKE_CUDA_ARCHITECTURES=" +
                    std::to_string(dev) + " to avoid it)";
        return d;
    }
    d.fit = ArchFit::kUnsupported;
    d.message = built + "; " + is + ", which cannot run these kernels (rebuild with -DCMAKE_CUDA_ARCHITECTURES=" +
                std::to_string(dev) + ")";
    return d;
}

}  // namespace fg
