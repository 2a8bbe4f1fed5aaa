// The fused contrastive local loss (METHOD.md section 2, "Contrastive local loss") at the pointer
// level, shared by the C export fg_contrastive_loss (ops_contrastive.cpp) and the model code.
#pragma once
#include <cstdint>

#include "context.h"

namespace fg::ops {

// Scratch floats contrastive_loss needs (its intermediates live in c.scratch_floats()).
uint64_t contrastive_loss_scratch_floats(int64_t pairs, int64_t patches, int64_t channels, int64_t dim);

// x (2B,P,C): view 1 in rows 0..B-1, view 2 in rows B..2B-1; xdot (K,V*B,P,C) or null, w (C,D), b (D) ->
// loss (B), d (K,V*B,P,G), dw (C,D), db (D), dx (2B,P,C), each optional; see fg_contrastive_loss.
// V = tangent_views: 2 when the tangents cover both views (the C export's layout; view 2's d is then 0, as it
// is a stop-gradient), 1 when only view 1 carries them (the model's forward-gradient path).
// Arguments must be validated by the caller. Uses c.scratch_floats(): no argument may point into it.
void contrastive_loss(fg_context& c, int64_t pairs, int64_t patches, int64_t channels, int64_t groups, int64_t dim,
                      int64_t tangents, int64_t tangent_views, float temperature, const float* x, const float* xdot,
                      const float* w, const float* b, float* loss, float* d, float* dw, float* db, float* dx);

}  // namespace fg::ops
