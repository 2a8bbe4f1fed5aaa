// CPU random tangents: Philox4x32-10 normals, four per counter (core/philox.h).
// A chunk's counters go through Philox together, then Box-Muller (philox::box_muller's arithmetic) runs
// over the whole chunk in loops the compiler vectorises (log, sqrt, cos and sin in float, from glibc's
// vector math library; this file is built with -ffast-math for that, see CMakeLists.txt). The
// same numbers as philox::normal4, and so as the CUDA backend, up to the last bits of the float math.
#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 warns inside its own _mm512_set1_epi64 (a self-initialised placeholder register).
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "../core/philox.h"
#include "cpu_backend.h"

namespace fg {

namespace {
constexpr uint64_t kChunkBlocks = 512;  // counters per chunk: 2 Box-Muller pairs each

// Philox4x32-10 of the kChunkBlocks counters from `first` (counter b = (first + b, step, tensor_id)), as
// philox::philox4x32_10 computes it, but over arrays: the rounds run outside and the counters inside, so
// each round vectorises across counters. The words live in 64-bit lanes with their top half zero (faster
// than 32-bit lanes here). Box-Muller pair 2b takes words (w0, w1) of counter b,
// pair 2b+1 words (w2, w3): radius_w gets w0 and w2, angle_w gets w1 and w3, in pair order.
void philox_chunk(uint64_t first, uint32_t step, uint32_t tensor_id, uint32_t k0, uint32_t k1, uint32_t* radius_w,
                  uint32_t* angle_w) {
    constexpr uint64_t kLow = 0xffffffffu;
    alignas(64) uint64_t x0[kChunkBlocks], x1[kChunkBlocks], x2[kChunkBlocks], x3[kChunkBlocks];
    for (uint64_t b = 0; b < kChunkBlocks; ++b) {
        x0[b] = (first + b) & kLow;
        x1[b] = (first + b) >> 32;
        x2[b] = step;
        x3[b] = tensor_id;
    }
#if defined(__AVX512F__)
    // The same rounds with the 32x32->64 multiply spelled out (vpmuludq): GCC would emit a full 64-bit
    // multiply, as it cannot see that the top halves are zero.
    for (int r = 0; r < 10; ++r) {
        const __m512i low = _mm512_set1_epi64(kLow), m0 = _mm512_set1_epi64(philox::kMul0),
                      m1 = _mm512_set1_epi64(philox::kMul1), key0 = _mm512_set1_epi64(k0),
                      key1 = _mm512_set1_epi64(k1);
        for (uint64_t b = 0; b < kChunkBlocks; b += 8) {
            const __m512i a0 = _mm512_load_si512(x0 + b), a1 = _mm512_load_si512(x1 + b),
                          a2 = _mm512_load_si512(x2 + b), a3 = _mm512_load_si512(x3 + b);
            const __m512i p0 = _mm512_mul_epu32(a0, m0), p1 = _mm512_mul_epu32(a2, m1);
            const __m512i y0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), a1), key0);
            const __m512i y2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), a3), key1);
            _mm512_store_si512(x0 + b, y0);
            _mm512_store_si512(x1 + b, _mm512_and_si512(p1, low));
            _mm512_store_si512(x2 + b, y2);
            _mm512_store_si512(x3 + b, _mm512_and_si512(p0, low));
        }
        k0 += philox::kWeyl0;
        k1 += philox::kWeyl1;
    }
#else
    for (int r = 0; r < 10; ++r) {
        for (uint64_t b = 0; b < kChunkBlocks; ++b) {
            const uint64_t p0 = (x0[b] & kLow) * philox::kMul0, p1 = (x2[b] & kLow) * philox::kMul1;
            const uint64_t y0 = ((p1 >> 32) ^ x1[b] ^ k0) & kLow;
            const uint64_t y2 = ((p0 >> 32) ^ x3[b] ^ k1) & kLow;
            x0[b] = y0;
            x1[b] = p1 & kLow;
            x2[b] = y2;
            x3[b] = p0 & kLow;
        }
        k0 += philox::kWeyl0;
        k1 += philox::kWeyl1;
    }
#endif
    for (uint64_t b = 0; b < kChunkBlocks; ++b) {
        radius_w[2 * b] = static_cast<uint32_t>(x0[b]);
        angle_w[2 * b] = static_cast<uint32_t>(x1[b]);
        radius_w[2 * b + 1] = static_cast<uint32_t>(x2[b]);
        angle_w[2 * b + 1] = static_cast<uint32_t>(x3[b]);
    }
}

// The normals of the kChunkBlocks counters from `chunk` (a multiple of kChunkBlocks) of a stream of `count`
// values into dst: elements 4*chunk .. of the stream, as many as the stream still has (at most 2048).
// Box-Muller as philox::box_muller, over the whole chunk: each step is one loop the compiler vectorises.
// Not inlined: the fused layer kernels draw through this same code, so their numbers are these, bit for bit.
[[gnu::noinline]] void chunk_normals(float* dst, uint64_t count, uint64_t chunk, uint32_t k0, uint32_t k1,
                                     uint32_t step, uint32_t tensor_id) {
    alignas(64) uint32_t radius_w[2 * kChunkBlocks], angle_w[2 * kChunkBlocks];
    alignas(64) float log_u[2 * kChunkBlocks], radius[2 * kChunkBlocks], phi[2 * kChunkBlocks], cosines[2 * kChunkBlocks],
        sines[2 * kChunkBlocks];
    // Every chunk computes all kChunkBlocks counters, also past the stream's end: with a constant trip
    // count each value comes out of the same vector code, so an element never depends on `count`
    // (a scalar tail's sinf would differ from the vector one in the last bit).
    philox_chunk(chunk, step, tensor_id, k0, k1, radius_w, angle_w);
    // Separate loops: GCC fuses sin and cos of one angle into sincos, which has no vector form.
    constexpr uint64_t pairs = 2 * kChunkBlocks;
    for (uint64_t i = 0; i < pairs; ++i) log_u[i] = philox::log_uniform(radius_w[i]);
    for (uint64_t i = 0; i < pairs; ++i) radius[i] = std::sqrt(-2.0f * log_u[i]);
    for (uint64_t i = 0; i < pairs; ++i) phi[i] = philox::quarter_turn_angle(angle_w[i]);
    for (uint64_t i = 0; i < pairs; ++i) cosines[i] = std::cos(phi[i]);
    for (uint64_t i = 0; i < pairs; ++i) sines[i] = std::sin(phi[i]);
    // Lanes of counter b: cos, sin of pair 2b, then cos, sin of pair 2b+1, each turned by its quadrant.
    // Whole chunks interleave in a loop that vectorises; only the stream's last counter may be partial.
    const uint64_t n = std::min<uint64_t>(4 * kChunkBlocks, count - 4 * chunk);
    const uint64_t whole = n / 2;
    for (uint64_t pair = 0; pair < whole; ++pair) {
        float x, y;
        philox::turn(angle_w[pair] >> 30, cosines[pair], sines[pair], x, y);
        dst[2 * pair] = radius[pair] * x;
        dst[2 * pair + 1] = radius[pair] * y;
    }
    if (n % 2 == 1) {
        float x, y;
        philox::turn(angle_w[whole] >> 30, cosines[whole], sines[whole], x, y);
        dst[n - 1] = radius[whole] * x;
    }
}
}  // namespace

namespace cpu {

void normals_range(float* dst, uint64_t begin, uint64_t n, uint64_t count, uint64_t seed, uint32_t step,
                   uint32_t tensor_id) {
    const uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    constexpr uint64_t kChunkValues = 4 * kChunkBlocks;
    thread_local std::vector<float> partial(kChunkValues);
    for (uint64_t e = begin; e < begin + n;) {
        const uint64_t chunk_first = e / kChunkValues * kChunkValues;
        const uint64_t chunk_end = std::min(chunk_first + kChunkValues, count);
        const uint64_t take_end = std::min(begin + n, chunk_end);
        if (e == chunk_first && take_end == chunk_end) {
            chunk_normals(dst + (e - begin), count, chunk_first / 4, k0, k1, step, tensor_id);
        } else {
            chunk_normals(partial.data(), count, chunk_first / 4, k0, k1, step, tensor_id);
            std::copy(partial.data() + (e - chunk_first), partial.data() + (take_end - chunk_first), dst + (e - begin));
        }
        e = take_end;
    }
}

}  // namespace cpu

// Counter-based, so the counters split over the loop threads with no change to any value. The split
// is in whole chunks of kChunkBlocks of the stream, as on one thread: a chunk's vector loops and their scalar
// tails then cover the same elements whatever the thread count, to the last bit. out holds elements
// [first, first + count) of a stream that ends there (first = 0: the whole stream).
void CpuBackend::random_normal(float* out, uint64_t count, uint64_t seed, uint32_t step, uint32_t tensor_id,
                               uint64_t first) {
    constexpr uint64_t kChunkValues = 4 * kChunkBlocks;
    const int64_t grain = std::max<int64_t>(1, cpu::kElementGrain / int64_t(kChunkValues));
    const uint64_t end = first + count, c0 = first / kChunkValues, c1 = (end + kChunkValues - 1) / kChunkValues;
    for_range(static_cast<int64_t>(c1 - c0), grain, [=](int64_t a, int64_t b) {
        const uint64_t e0 = std::max(first, (c0 + a) * kChunkValues), e1 = std::min(end, (c0 + b) * kChunkValues);
        if (e1 > e0) cpu::normals_range(out + (e0 - first), e0, e1 - e0, end, seed, step, tensor_id);
    });
}

}  // namespace fg
