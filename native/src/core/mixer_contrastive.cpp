// The contrastive local loss in the LocalMixer (METHOD.md section 2, "Contrastive local loss"): a step's
// batch is view 1 of every image followed by view 2, so the model runs on it unchanged and only the block
// heads see the pairing. LG-FG-A's tangents cover view 1's rows only: view 2 is a stop-gradient, so its
// tangents would only ever meet a zero cotangent, and its primal pass is all the loss reads from it.
#include <string>

#include "mixer.h"
#include "ops_contrastive.h"

namespace fg::mixer {

void check_contrastive_step(const fg_mixer& m, const Run& run) {
    if (!m.dims.contrastive) return;
    const int32_t method = run.method;
    if (method != FG_METHOD_BP && method != FG_METHOD_LBP && method != FG_METHOD_LGBP && method != FG_METHOD_LGFGA)
        invalid("method (" + std::to_string(method) +
                ") does not train the contrastive local loss: use FG_METHOD_LGFGA or a backprop method "
                "(FG_METHOD_BP, FG_METHOD_LBP, FG_METHOD_LGBP)");
    if (run.B % 2 != 0)
        invalid("batch (" + std::to_string(run.B) +
                ") must be even with the contrastive loss: view 1 of every image, then view 2 in the same order");
    if (run.noise.total != 0)
        invalid("options->global_batch (a shard of a larger batch) does not apply to the contrastive loss: a shard "
                "would separate the two views of an image that the loss pairs; leave global_batch 0");
}

int64_t tangent_batch(const fg_mixer& m, int32_t method, int64_t B) {
    // LG-FG-A is the one forward-gradient method check_contrastive_step lets train the contrastive loss.
    return m.dims.contrastive && method == FG_METHOD_LGFGA ? B / 2 : B;
}

int64_t tangent_rows(const fg_mixer& m, const Run& run) { return tangent_batch(m, run.method, run.B) * m.dims.P; }

void contrastive_head_loss(fg_mixer& m, const Run& run, int64_t k, int64_t groups, const float* x, const float* xdot,
                           float* d, bool want_head, float grad_scale, float* dx) {
    fg_context& c = *m.context;
    const Dims& dm = m.dims;
    const int32_t head_w = m.blocks[static_cast<size_t>(k)].head;
    Param& W = m.params[static_cast<size_t>(head_w)];
    Param& b = m.params[static_cast<size_t>(head_w) + 1];
    const int64_t pairs = run.B / 2;
    const bool tangents = d && xdot && run.K > 0;
    // The tangents cover view 1 only (tangent_batch): one tangent view.
    ops::contrastive_loss(c, pairs, dm.P, dm.C, groups, dm.head_out, tangents ? run.K : 0, 1,
                          FG_CONTRASTIVE_TEMPERATURE, x, tangents ? xdot : nullptr, W.w(), b.w(), m.ws.loss,
                          tangents ? d : nullptr, want_head ? W.g() : nullptr, want_head ? b.g() : nullptr, dx);
    c.be().sum_mid(1, 1, pairs, m.ws.loss, 1.0f / static_cast<float>(pairs), m.ws.means + k, false);
    if (want_head) {
        scale_in_place(c, W.g(), W.count(), grad_scale);
        scale_in_place(c, b.g(), b.count(), grad_scale);
    }
    m.loss_written[static_cast<size_t>(k)] = true;
}

}  // namespace fg::mixer
