// Pieces shared by the case files.
#pragma once
#include <algorithm>

#include "op_table.h"

namespace optable {

// The oracle's sample of an output whose elements each sum `depth` products: every element while that
// stays under ~64 M products, an even stride through the output beyond.
inline std::vector<size_t> sample_for(size_t count, int64_t depth) {
    return sample(count, std::max<size_t>(size_t(1) << 12, (size_t(1) << 26) / size_t(std::max<int64_t>(depth, 1))));
}

inline const char* kind_name(int32_t kind) {
    return kind == FG_LAYER_DENSE ? "dense" : kind == FG_LAYER_GROUP ? "group" : "token";
}

// A benchmark-only copy of a case: BM_Op/<backend>/<rest>.
inline Case benchmarked(Case c, const std::string& rest) {
    c.parity = false;
    c.bench_family = "BM_Op";
    c.bench_rest = rest;
    return c;
}

Case gemm_case(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k, float alpha, float beta, uint32_t seed);

}  // namespace optable
