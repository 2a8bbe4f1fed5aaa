// CPU random tangents: Philox4x32-10 normals, four per counter (core/philox.h).
// The words of a chunk of counters are drawn first, then Box-Muller runs over the whole chunk in
// one loop that the compiler vectorises (log/sin/cos from glibc's vector math library; this file
// is built with -ffast-math for that, see CMakeLists.txt). Same numbers as philox::normal4 up to
// the last bit of the double intermediate, so the same tangents as the CUDA backend.
#include <algorithm>
#include <cmath>

#include "../core/philox.h"
#include "cpu_backend.h"

namespace fg {

namespace {
constexpr uint64_t kChunkBlocks = 512;  // counters per chunk: 2 Box-Muller pairs each
}

void CpuBackend::random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id) {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    const uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    alignas(64) double radius_u[2 * kChunkBlocks], angle_u[2 * kChunkBlocks];
    alignas(64) double cosines[2 * kChunkBlocks], sines[2 * kChunkBlocks];
    const uint64_t blocks = (count + 3) / 4;
    for (uint64_t first = 0; first < blocks; first += kChunkBlocks) {
        const uint64_t nb = std::min(kChunkBlocks, blocks - first);
        // Pair 2b takes words (w0, w1) of counter b, pair 2b+1 words (w2, w3).
        for (uint64_t b = 0; b < nb; ++b) {
            const uint64_t block = first + b;
            const philox::Block counter{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), step,
                                         tensor_id}};
            const philox::Block w = philox::philox4x32_10(counter, k0, k1);
            radius_u[2 * b] = philox::uniform(w.v[0]);
            angle_u[2 * b] = philox::uniform(w.v[1]);
            radius_u[2 * b + 1] = philox::uniform(w.v[2]);
            angle_u[2 * b + 1] = philox::uniform(w.v[3]);
        }
        // Three loops, not one: GCC fuses sin and cos of one angle into sincos, which has no vector form.
        const uint64_t pairs = 2 * nb;
        for (uint64_t i = 0; i < pairs; ++i) {
            radius_u[i] = std::sqrt(-2.0 * std::log(radius_u[i]));  // now the radius r
            angle_u[i] *= kTwoPi;                                    // now the angle theta
        }
        for (uint64_t i = 0; i < pairs; ++i) cosines[i] = radius_u[i] * std::cos(angle_u[i]);
        for (uint64_t i = 0; i < pairs; ++i) sines[i] = radius_u[i] * std::sin(angle_u[i]);
        // Lanes of counter b: cos, sin of pair 2b, then cos, sin of pair 2b+1; the last counter may be partial.
        float* dst = out + 4 * first;
        const uint64_t n = std::min<uint64_t>(4 * nb, count - 4 * first);
        for (uint64_t i = 0; i < n; ++i) {
            const uint64_t pair = i / 2;
            dst[i] = static_cast<float>((i % 2 == 0) ? cosines[pair] : sines[pair]);
        }
    }
}

}  // namespace fg
