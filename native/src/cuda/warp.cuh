// Warp-level helpers shared by the row-wise kernels (LayerNorm, softmax, group dot products, sums).
#pragma once
#include <cstdint>
#include <type_traits>

namespace fg {

// Sum over the W lanes of this lane's aligned segment (xor partners stay inside the segment);
// the same butterfly on every lane, so all lanes of a segment get the same bits.
template <int W, class T>
__device__ __forceinline__ T segment_sum(T v) {
#pragma unroll
    for (int o = W / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Calls f(std::integral_constant<int, W>) with W = min(32, next_pow2(width)): the lanes one row of
// `width` elements gets, so narrow rows share a warp.
template <class F>
void with_segment_width(int64_t width, F&& f) {
    if (width <= 1) f(std::integral_constant<int, 1>{});
    else if (width <= 2) f(std::integral_constant<int, 2>{});
    else if (width <= 4) f(std::integral_constant<int, 4>{});
    else if (width <= 8) f(std::integral_constant<int, 8>{});
    else if (width <= 16) f(std::integral_constant<int, 16>{});
    else f(std::integral_constant<int, 32>{});
}

}  // namespace fg
