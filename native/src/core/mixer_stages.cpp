// C ABI of block pipeline stages: a contiguous range of blocks run on the activations the previous stage
// sent. The local methods' gradients never cross a block boundary, so a stage runs exactly the code and the
// random streams (keyed by block, layer and parameter index, never by position in the call) of the same
// blocks in fg_mixer_gradients: chaining the stages gives the whole step's gradients bit for bit.
#include <string>

#include "mixer.h"

using fg::guard;
using fg::invalid;
using namespace fg::mixer;

namespace {

bool runs_in_stages(int32_t method) {
    return method == FG_METHOD_LGBP || method == FG_METHOD_LGFA || method == FG_METHOD_LGFGA ||
           method == FG_METHOD_LGFGW;
}

void check_range(const fg_mixer& m, int32_t first, int32_t last) {
    const int64_t blocks = m.dims.blocks;
    if (first < 0 || last > blocks || first >= last)
        invalid("block range [" + std::to_string(first) + ", " + std::to_string(last) +
                ") must be non-empty and within the model's " + std::to_string(blocks) +
                " blocks: 0 <= first < last <= " + std::to_string(blocks));
}

// The run skeleton of a stage: the images for the first stage, else block first-1's output (batch, P, C).
Run stage_run(fg_mixer& m, int64_t batch, const fg_buffer* images, const fg_buffer* input, int32_t first,
              int32_t last) {
    check_range(m, first, last);
    const Dims& d = m.dims;
    Run run;
    if (first == 0) {
        run = make_run(m, batch, images);
    } else {
        fg::check_positive("batch", batch);
        run.B = batch;
        run.R = static_cast<int64_t>(fg::elements({batch, d.P}));
        run.S = run.R;
        run.input = fg::in_f32(*m.context, input, fg::elements({batch, d.P, d.C}), "input");
    }
    run.first = first;
    run.last = last;
    return run;
}

// Block last-1's output (batch, P, C) into `output`, when given: what the next stage receives.
void copy_output(fg_mixer& m, const Run& run, fg_buffer* output) {
    if (!output) return;
    fg_context& c = *m.context;
    const uint64_t count = fg::elements({run.B, m.dims.P, m.dims.C});
    float* out = fg::out_f32(c, output, count, "output");
    const BlockActs& a = m.ws.slots[static_cast<size_t>((run.last - 1) % 2)];
    c.be().copy(out, a.group.a, count * sizeof(float));
}

}  // namespace

extern "C" {

FG_API fg_status fg_mixer_stage_forward(fg_mixer* model, int64_t batch, const fg_buffer* images,
                                        const fg_buffer* input, int32_t first, int32_t last, fg_buffer* output) {
    return guard("fg_mixer_stage_forward", [&] {
        fg_mixer& m = check_model(model);
        if (!output) invalid("output is NULL");
        Run run = stage_run(m, batch, images, input, first, last);
        run.method = kForwardOnly;
        // Both checked before the workspace is touched.
        fg::out_f32(*m.context, output, fg::elements({batch, m.dims.P, m.dims.C}), "output");
        prepare_workspace(m, run);
        if (first == 0) load_patches(m, run);
        const float* x = run.input;
        for (int64_t k = first; k < last; ++k) {
            BlockActs& a = m.ws.slots[static_cast<size_t>(k % 2)];
            block_forward(m, run, k, x, nullptr, a);
            x = a.group.a;
        }
        copy_output(m, run, output);
    });
}

FG_API fg_status fg_mixer_stage_gradients(fg_mixer* model, int64_t batch, const fg_buffer* images,
                                          const fg_buffer* input, const fg_buffer* labels,
                                          const fg_step_options* options, int32_t first, int32_t last,
                                          fg_buffer* output, fg_step_stats* out_stats) {
    return guard("fg_mixer_stage_gradients", [&] {
        fg_mixer& m = check_model(model);
        check_stats(out_stats);
        Run run = stage_run(m, batch, images, input, first, last);
        set_options(run, options);
        if (!runs_in_stages(run.method))
            invalid(std::string("options->method is ") + method_name(run.method) +
                    ", whose gradients cross block boundaries; a pipeline stage runs only the local methods "
                    "LG-BP, LG-FA, LG-FG-A and LG-FG-W (use data parallelism, or one of these methods)");
        if (output) fg::out_f32(*m.context, output, fg::elements({batch, m.dims.P, m.dims.C}), "output");
        check_contrastive_step(m, run);
        load_labels(m, run, labels);
        fg_step_stats stats;
        gradients(m, run, stats);
        copy_output(m, run, output);
        if (out_stats) *out_stats = stats;
    });
}

}  // extern "C"
