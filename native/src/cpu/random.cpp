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

// The normals of counters [first, last) into out (count values in all; the last counter may be partial).
void normals_of_blocks(float* out, uint64_t count, uint64_t first, uint64_t last, uint32_t k0, uint32_t k1,
                       uint32_t step, uint32_t tensor_id) {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    alignas(64) double radius_u[2 * kChunkBlocks], angle_u[2 * kChunkBlocks];
    alignas(64) double cosines[2 * kChunkBlocks], sines[2 * kChunkBlocks];
    for (uint64_t chunk = first; chunk < last; chunk += kChunkBlocks) {
        const uint64_t nb = std::min(kChunkBlocks, last - chunk);
        // Pair 2b takes words (w0, w1) of counter b, pair 2b+1 words (w2, w3).
        for (uint64_t b = 0; b < nb; ++b) {
            const uint64_t block = chunk + b;
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
        // Lanes of counter b: cos, sin of pair 2b, then cos, sin of pair 2b+1.
        float* dst = out + 4 * chunk;
        const uint64_t n = std::min<uint64_t>(4 * nb, count - 4 * chunk);
        for (uint64_t i = 0; i < n; ++i) {
            const uint64_t pair = i / 2;
            dst[i] = static_cast<float>((i % 2 == 0) ? cosines[pair] : sines[pair]);
        }
    }
}
}  // namespace

// Counter-based, so the counters split over the loop threads with no change to any value. The split
// is in whole chunks of kChunkBlocks, as on one thread: a chunk's vector loops and their scalar tails
// then cover the same elements whatever the thread count, to the last bit.
void CpuBackend::random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id) {
    const uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    const uint64_t blocks = (count + 3) / 4, chunks = (blocks + kChunkBlocks - 1) / kChunkBlocks;
    const int64_t grain = std::max<int64_t>(1, cpu::kElementGrain / (4 * int64_t(kChunkBlocks)));
    for_range(static_cast<int64_t>(chunks), grain, [=](int64_t first, int64_t last) {
        normals_of_blocks(out, count, static_cast<uint64_t>(first) * kChunkBlocks,
                          std::min(blocks, static_cast<uint64_t>(last) * kChunkBlocks), k0, k1, step, tensor_id);
    });
}

}  // namespace fg
