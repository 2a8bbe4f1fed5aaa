// The fused local loss (METHOD.md section 2) at the pointer level, shared by the C export
// fg_local_loss (ops_loss.cpp) and the model code. Built only from fg::Backend primitives.
#pragma once
#include <cstdint>
#include <vector>

#include "context.h"

namespace fg::ops {

// Scratch carving: each piece starts on a 64-float (256-byte) boundary for the device.
inline uint64_t scratch_aligned(uint64_t floats) { return (floats + 63) / 64 * 64; }

// Downloads labels (batch int32, backend memory) into `host` and throws invalid() naming the first
// index whose value is outside [0, classes). Synchronises the backend: call it where labels arrive
// (once per batch), not per block.
void download_checked_labels(fg_context& c, const int32_t* labels, int64_t batch, int64_t classes,
                             std::vector<int32_t>& host);

// xbar (B,C) = mean over patches of x (B,P,C), as one strided-batched GEMM with a row of ones;
// ones (P floats of backend memory) is overwritten with 1.
void patch_mean(fg_context& c, int64_t batch, int64_t patches, int64_t channels, const float* x, float* ones,
                float* xbar);

// Scratch floats local_loss needs (its intermediates live in c.scratch_floats()).
uint64_t local_loss_scratch_floats(int64_t batch, int64_t patches, int64_t channels, int64_t classes);

// x (B,P,C), xdot (K,B,P,C) or null, w (C,N), b (N), labels (B) -> loss (B), logits (B,N),
// d (K,B,P,G), dw (C,N), db (N), dx (B,P,C), each optional (null = not wanted); see fg_local_loss.
// Arguments must be validated by the caller; a label outside [0, N) gives a NaN loss and a zero
// gradient row rather than an error.
// d needs xdot when K > 0. Uses c.scratch_floats(): no argument may point into the scratch space.
// w_back (C,N), when given, replaces w in v = w s (d and dx): feedback alignment's fixed feedback matrix.
void local_loss(fg_context& c, int64_t batch, int64_t patches, int64_t channels, int64_t groups, int64_t classes,
                int64_t tangents, const float* x, const float* xdot, const float* w, const float* b,
                const int32_t* labels, float* loss, float* logits, float* d, float* dw, float* db, float* dx,
                const float* w_back = nullptr);

}  // namespace fg::ops
