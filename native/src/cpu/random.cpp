// CPU random tangents: Philox4x32-10 normals, four per counter (core/philox.h).
// A chunk's counters go through Philox together, sixteen per vector, then Box-Muller (philox::box_muller's
// arithmetic) runs over the whole chunk in loops the compiler vectorises (log, sqrt, cos and sin in float,
// from glibc's vector math library; this file is built with -ffast-math for that, see CMakeLists.txt). The
// same numbers as philox::normal4, and so as the CUDA backend, up to the last bits of the float math.
#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 warns inside its own _mm512_set1_* and blends (a self-initialised placeholder register).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "../core/philox.h"
#include "cpu_backend.h"

namespace fg {

namespace {
constexpr uint64_t kChunkBlocks = 512;  // counters per chunk: 2 Box-Muller pairs each
constexpr uint64_t kLanes = 16;         // counters per group: one 512-bit vector of 32-bit words

// The Box-Muller words of a chunk, group by group ("planar"): for counters 16g .. 16g+15, pairs 2b (words
// w0, w1) at 32g + j and pairs 2b+1 (words w2, w3) at 32g + 16 + j, j = b - 16g. Box-Muller's loops are
// element-wise, so this order changes no value; chunk_normals interleaves the results back to stream order.
constexpr uint64_t planar_pair(uint64_t b, uint64_t odd) { return b / kLanes * 2 * kLanes + odd * kLanes + b % kLanes; }

// Philox4x32-10 of the kChunkBlocks counters from `first` (counter b = (first + b, step, tensor_id)), as
// philox::philox4x32_10 computes it, into the planar radius words (w0, w2) and angle words (w1, w3).
void philox_chunk(uint64_t first, uint32_t step, uint32_t tensor_id, uint32_t k0, uint32_t k1, uint32_t* radius_w,
                  uint32_t* angle_w) {
#if defined(__AVX512F__)
    // Sixteen counters per vector, all ten rounds in registers, four vectors at a time so that their rounds
    // overlap (one round's multiply-shift-xor chain is latency-bound). vpmuludq multiplies the even 32-bit
    // lanes into 64-bit products; the odd lanes go through it shifted down, and blends put the high and
    // low halves back in lane order.
    constexpr int kInFlight = 4;
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m0 = _mm512_set1_epi32(static_cast<int>(philox::kMul0)),
                  m1 = _mm512_set1_epi32(static_cast<int>(philox::kMul1));
    constexpr __mmask16 kOdd = 0xAAAA;
    for (uint64_t g0 = 0; g0 < kChunkBlocks; g0 += kInFlight * kLanes) {
        __m512i x0[kInFlight], x1[kInFlight], x2[kInFlight], x3[kInFlight];
        for (int v = 0; v < kInFlight; ++v) {
            const uint64_t base = first + g0 + v * kLanes;  // a 64-bit counter: the low word may carry into the high one
            const __m512i lo = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(base)));
            const __m512i hi = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(base >> 32)));
            x0[v] = _mm512_add_epi32(lo, iota);
            x1[v] = _mm512_mask_add_epi32(hi, _mm512_cmplt_epu32_mask(x0[v], lo), hi, _mm512_set1_epi32(1));
            x2[v] = _mm512_set1_epi32(static_cast<int>(step));
            x3[v] = _mm512_set1_epi32(static_cast<int>(tensor_id));
        }
        uint32_t r0 = k0, r1 = k1;
        for (int r = 0; r < 10; ++r) {
            const __m512i key0 = _mm512_set1_epi32(static_cast<int>(r0)), key1 = _mm512_set1_epi32(static_cast<int>(r1));
            for (int v = 0; v < kInFlight; ++v) {
                const __m512i e0 = _mm512_mul_epu32(x0[v], m0), o0 = _mm512_mul_epu32(_mm512_srli_epi64(x0[v], 32), m0);
                const __m512i e1 = _mm512_mul_epu32(x2[v], m1), o1 = _mm512_mul_epu32(_mm512_srli_epi64(x2[v], 32), m1);
                const __m512i hi0 = _mm512_mask_blend_epi32(kOdd, _mm512_srli_epi64(e0, 32), o0);
                const __m512i lo0 = _mm512_mask_blend_epi32(kOdd, e0, _mm512_slli_epi64(o0, 32));
                const __m512i hi1 = _mm512_mask_blend_epi32(kOdd, _mm512_srli_epi64(e1, 32), o1);
                const __m512i lo1 = _mm512_mask_blend_epi32(kOdd, e1, _mm512_slli_epi64(o1, 32));
                x0[v] = _mm512_ternarylogic_epi32(hi1, x1[v], key0, 0x96);  // 0x96: three-way xor
                x2[v] = _mm512_ternarylogic_epi32(hi0, x3[v], key1, 0x96);
                x1[v] = lo1;
                x3[v] = lo0;
            }
            r0 += philox::kWeyl0;
            r1 += philox::kWeyl1;
        }
        for (int v = 0; v < kInFlight; ++v) {
            const uint64_t at = planar_pair(g0 + v * kLanes, 0);
            _mm512_store_si512(radius_w + at, x0[v]);
            _mm512_store_si512(radius_w + at + kLanes, x2[v]);
            _mm512_store_si512(angle_w + at, x1[v]);
            _mm512_store_si512(angle_w + at + kLanes, x3[v]);
        }
    }
#else
    for (uint64_t b = 0; b < kChunkBlocks; ++b) {
        const uint64_t counter = first + b;
        const philox::Block w = philox::philox4x32_10(
            philox::Block{{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), step, tensor_id}}, k0, k1);
        radius_w[planar_pair(b, 0)] = w.v[0];
        angle_w[planar_pair(b, 0)] = w.v[1];
        radius_w[planar_pair(b, 1)] = w.v[2];
        angle_w[planar_pair(b, 1)] = w.v[3];
    }
#endif
}

// The two normals of Box-Muller pair `pair` (a planar index): r cos and r sin of its angle, turned by its quadrant.
inline void pair_normals(const float* radius, const float* cosines, const float* sines, const uint32_t* angle_w,
                         uint64_t pair, float& x, float& y) {
    float c, s;
    philox::turn(angle_w[pair] >> 30, cosines[pair], sines[pair], c, s);
    x = radius[pair] * c;
    y = radius[pair] * s;
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
    // Counter b's four lanes: cos, sin of pair 2b, then cos, sin of pair 2b+1, each turned by its quadrant.
    const uint64_t n = std::min<uint64_t>(4 * kChunkBlocks, count - 4 * chunk);
    uint64_t b = 0;
#if defined(__AVX512F__)
    // Whole groups: the four planar vectors (x, y of the even pairs, x, y of the odd ones) transposed into
    // stream order. The same products and sign flips as philox::turn, lane by lane.
    const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    const auto turned = [&](uint64_t at, __m512& x, __m512& y) {
        const __m512i q = _mm512_srli_epi32(_mm512_load_si512(angle_w + at), 30);
        const __mmask16 swap = _mm512_test_epi32_mask(q, _mm512_set1_epi32(1));
        const __mmask16 flip = _mm512_test_epi32_mask(q, _mm512_set1_epi32(2));
        const __m512 c = _mm512_load_ps(cosines + at), s = _mm512_load_ps(sines + at);
        const __m512 neg_s = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(s), sign));
        __m512 cx = _mm512_mask_blend_ps(swap, c, neg_s), cy = _mm512_mask_blend_ps(swap, s, c);
        cx = _mm512_castsi512_ps(_mm512_mask_xor_epi32(_mm512_castps_si512(cx), flip, _mm512_castps_si512(cx), sign));
        cy = _mm512_castsi512_ps(_mm512_mask_xor_epi32(_mm512_castps_si512(cy), flip, _mm512_castps_si512(cy), sign));
        const __m512 r = _mm512_load_ps(radius + at);
        x = _mm512_mul_ps(r, cx);
        y = _mm512_mul_ps(r, cy);
    };
    for (; 4 * (b + kLanes) <= n; b += kLanes) {
        __m512 p, q, s, t;  // lane j: the normals 4(b+j) + 0, 1, 2, 3
        turned(planar_pair(b, 0), p, q);
        turned(planar_pair(b, 1), s, t);
        const __m512 u0 = _mm512_unpacklo_ps(p, q), u1 = _mm512_unpackhi_ps(p, q);
        const __m512 v0 = _mm512_unpacklo_ps(s, t), v1 = _mm512_unpackhi_ps(s, t);
        const auto pd = [](__m512 v) { return _mm512_castps_pd(v); };
        const auto ps = [](__m512d v) { return _mm512_castpd_ps(v); };
        const __m512 w0 = ps(_mm512_unpacklo_pd(pd(u0), pd(v0))), w1 = ps(_mm512_unpackhi_pd(pd(u0), pd(v0)));
        const __m512 w2 = ps(_mm512_unpacklo_pd(pd(u1), pd(v1))), w3 = ps(_mm512_unpackhi_pd(pd(u1), pd(v1)));
        // w_i's 128-bit lane l holds counter b + 4l + i: transpose the 4x4 lanes.
        const __m512 t0 = _mm512_shuffle_f32x4(w0, w1, 0x44), t1 = _mm512_shuffle_f32x4(w2, w3, 0x44);
        const __m512 t2 = _mm512_shuffle_f32x4(w0, w1, 0xEE), t3 = _mm512_shuffle_f32x4(w2, w3, 0xEE);
        float* out = dst + 4 * b;
        _mm512_storeu_ps(out, _mm512_shuffle_f32x4(t0, t1, 0x88));
        _mm512_storeu_ps(out + 16, _mm512_shuffle_f32x4(t0, t1, 0xDD));
        _mm512_storeu_ps(out + 32, _mm512_shuffle_f32x4(t2, t3, 0x88));
        _mm512_storeu_ps(out + 48, _mm512_shuffle_f32x4(t2, t3, 0xDD));
    }
#endif
    for (; 4 * b < n; ++b) {
        float v[4];
        pair_normals(radius, cosines, sines, angle_w, planar_pair(b, 0), v[0], v[1]);
        pair_normals(radius, cosines, sines, angle_w, planar_pair(b, 1), v[2], v[3]);
        for (uint64_t i = 0; i < 4 && 4 * b + i < n; ++i) dst[4 * b + i] = v[i];
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
