// Philox4x32-10 (Salmon et al., SC'11, as in Random123) and the normal numbers of
// fg_random_normal. Header-only so the CPU backend and the CUDA kernels compile the very same
// arithmetic: element i of a stream is a pure function of (seed, step, tensor_id, i).
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define FG_HD __host__ __device__
#else
#define FG_HD
#endif

namespace fg::philox {

struct Block {
    uint32_t v[4];
};

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

FG_HD inline uint32_t mulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __umulhi(a, b);
#else
    return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

FG_HD inline Block single_round(Block c, uint32_t k0, uint32_t k1) {
    const uint32_t hi0 = mulhi(kMul0, c.v[0]), lo0 = kMul0 * c.v[0];
    const uint32_t hi1 = mulhi(kMul1, c.v[2]), lo1 = kMul1 * c.v[2];
    return Block{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
}

// Ten rounds; the key is bumped by the Weyl constants between rounds.
FG_HD inline Block philox4x32_10(Block counter, uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; ++r) {
        counter = single_round(counter, k0, k1);
        k0 += kWeyl0;
        k1 += kWeyl1;
    }
    return counter;
}

// Box-Muller's angle 2 pi (w + 0.5) 2^-32 split exactly at its quadrant: the top two bits of w are the
// quarter turn q, and phi = pi/2 * ((w & 0x3fffffff) + 0.5) 2^-30 in (0, pi/2) is the rest. Float keeps
// phi to 5e-8 (2 pi u in float would lose up to 4e-7 of a large angle), and cos/sin of phi need no
// range reduction.
FG_HD inline float quarter_turn_angle(uint32_t w) {
    return (static_cast<float>(w & 0x3fffffffu) + 0.5f) * 1.4629180792671596e-09f;  // pi/2 * 2^-30
}

// (x, y) = (c, s) turned by q quarter turns: (cos, sin) of phi + q pi/2.
FG_HD inline void turn(uint32_t q, float c, float s, float& x, float& y) {
    x = q == 0 ? c : q == 1 ? -s : q == 2 ? -c : s;
    y = q == 0 ? s : q == 1 ? c : q == 2 ? -s : -c;
}

// ln u of u = (w + 0.5) 2^-32, in float. Below 1 - 2^-6, logf of u: rounding u to float moves ln u by at
// most 6e-8 there. Above, u = 1 - e with e = (~w + 0.5) 2^-32 <= 2^-6 and ln u = -(e + e^2/2 + ... + e^5/5)
// to float precision (the next term is below 2^-30 e): ln u stays exact as it nears 0.
constexpr uint32_t kNearOne = 0xfc000000u;  // w >= this: u > 1 - 2^-6
FG_HD inline float log_uniform(uint32_t w) {
    constexpr float k2pow32 = 2.3283064365386962890625e-10f;  // 2^-32
    const float e = (static_cast<float>(~w) + 0.5f) * k2pow32;
    const float series = -e * (1.0f + e * (0.5f + e * (1.0f / 3.0f + e * (0.25f + e * 0.2f))));
    const float u = (static_cast<float>(w) + 0.5f) * k2pow32;
    return w >= kNearOne ? series : logf(u);
}

// One Box-Muller pair from words (wr, wa): r = sqrt(-2 ln u(wr)), theta = 2 pi u(wa); (r cos, r sin),
// in float with ln u as log_uniform and the angle split at its quadrant: within 1e-6 of the all-double
// formula.
FG_HD inline void box_muller(uint32_t wr, uint32_t wa, float& x, float& y) {
    const float r = sqrtf(-2.0f * log_uniform(wr));
    const float phi = quarter_turn_angle(wa);
    float c, s;
    turn(wa >> 30, cosf(phi), sinf(phi), c, s);
    x = r * c;
    y = r * s;
}

// The four normals of block b = i / 4: Box-Muller on (w0, w1) -> lanes 0, 1 and (w2, w3) -> lanes 2, 3.
FG_HD inline void normal4(uint64_t seed, uint32_t step, uint32_t tensor_id, uint64_t block, float out[4]) {
    const Block counter{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), step, tensor_id}};
    const Block w = philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
    box_muller(w.v[0], w.v[1], out[0], out[1]);
    box_muller(w.v[2], w.v[3], out[2], out[3]);
}

}  // namespace fg::philox
