// C ABI of the LocalMixer model: create/free, parameters, forward, one step of gradients for every
// method, workspace size and the gradient cosine diagnostic.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "mixer.h"
#include "ops_loss.h"
#include "ops.h"

using fg::guard;
using fg::invalid;
using namespace fg::mixer;

namespace fg::mixer {

fg_mixer& check_model(fg_mixer* model) {
    if (!model) invalid("model is NULL");
    return *model;
}

const char* method_name(int32_t method) {
    static const char* names[] = {"BP", "L-BP", "LG-BP", "FG-W", "FG-A", "LG-FG-W", "LG-FG-A", "FA", "L-FA", "LG-FA", "DFA"};
    return method >= 0 && method <= FG_METHOD_DFA ? names[method] : "unknown";
}

}  // namespace fg::mixer

namespace {

void check_method_value(int32_t method) {
    if (method < FG_METHOD_BP || method > FG_METHOD_DFA)
        invalid("method (" + std::to_string(method) + ") must be one of FG_METHOD_BP (0) .. FG_METHOD_DFA (10)");
}

void check_method(int32_t method, int32_t tangents) {
    check_method_value(method);
    if (!is_backprop(method) && tangents < 1)
        invalid(std::string("tangents (") + std::to_string(tangents) + ") must be >= 1 for " + method_name(method));
}

}  // namespace

namespace fg::mixer {

// Checks the batch and the images; returns the run skeleton.
Run make_run(fg_mixer& m, int64_t batch, const fg_buffer* images) {
    fg_context& c = *m.context;
    const Dims& d = m.dims;
    fg::check_positive("batch", batch);
    Run run;
    run.B = batch;
    run.R = static_cast<int64_t>(fg::elements({batch, d.P}));
    run.S = run.R;
    run.images = fg::in_f32(c, images, fg::elements({batch, d.H, d.W, d.Cin}), "images");
    return run;
}

// Downloads the labels and checks them on the host (the stats need them there anyway).
void load_labels(fg_mixer& m, Run& run, const fg_buffer* labels) {
    fg_context& c = *m.context;
    run.labels = fg::in_i32(c, labels, static_cast<uint64_t>(run.B), "labels");
    fg::ops::download_checked_labels(c, run.labels, run.B, m.dims.N, m.host_labels);
}

void set_options(Run& run, const fg_step_options* options) {
    if (!options) invalid("options is NULL");
    if (options->size < sizeof(fg_step_options))
        invalid("options->size is " + std::to_string(options->size) + ", expected sizeof(fg_step_options) = " +
                std::to_string(sizeof(fg_step_options)));
    check_method(options->method, options->tangents);
    run.method = options->method;
    run.K = is_backprop(options->method) ? 0 : options->tangents;
    run.S = (run.K + 1) * run.R;
    run.step = options->step;
    run.seed = options->seed;
    run.head_lr = options->head_lr;
    run.last_lr = options->last_layer_lr;
    if (options->channel_slices != FG_SLICES_SUM && options->channel_slices != FG_SLICES_GROUP)
        invalid("options->channel_slices (" + std::to_string(options->channel_slices) +
                ") must be FG_SLICES_SUM (0) or FG_SLICES_GROUP (1)");
    run.channel_slices = options->channel_slices;
    if (options->global_batch < 0 || options->global_first < 0 ||
        (options->global_batch == 0 && options->global_first != 0) ||
        (options->global_batch > 0 && options->global_first + run.B > options->global_batch))
        invalid("options->global_first (" + std::to_string(options->global_first) + ") + batch (" +
                std::to_string(run.B) + ") must fit in options->global_batch (" + std::to_string(options->global_batch) +
                "); global_batch 0 means this batch is the whole batch, with global_first 0");
    // a "shard" that is the whole batch keys its noise as a plain batch does
    const int64_t patches = run.B > 0 ? run.R / run.B : 0;
    if (options->global_batch != run.B)
        run.noise = fg::NoiseRows{options->global_batch * patches, options->global_first * patches};
    run.feedback = feedback_list(run.method) == kTransposedFeedback;
}

// One step of run.method into the gradient buffers.
void gradients(fg_mixer& m, const Run& run, fg_step_stats& stats) {
    std::memset(&stats, 0, sizeof stats);
    stats.size = sizeof stats;
    stats.blocks = static_cast<int32_t>(m.dims.blocks);
    stats.workspace_bytes = prepare_workspace(m, run);
    if (run.first == 0) load_patches(m, run);
    m.loss_written.assign(static_cast<size_t>(m.dims.blocks + 1), false);
    if (is_backprop(run.method))
        backprop_gradients(m, run, stats);
    else
        forward_gradients(m, run, stats);
    read_losses(m, run, stats);
}

void check_stats(const fg_step_stats* s) {
    if (s && s->size < sizeof(fg_step_stats))
        invalid("out_stats->size is " + std::to_string(s->size) + ", expected sizeof(fg_step_stats) = " +
                std::to_string(sizeof(fg_step_stats)));
}

}  // namespace fg::mixer

namespace {

void download_grads(fg_mixer& m, std::vector<std::vector<float>>& out) {
    out.resize(m.params.size());
    for (size_t i = 0; i < m.params.size(); ++i) {
        out[i].resize(static_cast<size_t>(m.params[i].count()));
        m.context->be().download(out[i].data(), m.params[i].g(), out[i].size() * sizeof(float));
    }
}

// The feedback matrix `index` of `method`'s list, checked.
Param& feedback_at(fg_mixer& m, int32_t method, int32_t index) {
    check_method_value(method);
    const int32_t list = feedback_list(method);
    if (list < 0) invalid(std::string(method_name(method)) + " has no feedback matrices");
    std::vector<Param>& all = feedback(m, list);
    if (index < 0 || index >= static_cast<int32_t>(all.size()))
        invalid("index (" + std::to_string(index) + ") is outside [0, " + std::to_string(all.size()) + ")");
    return all[static_cast<size_t>(index)];
}

}  // namespace

extern "C" {

FG_API fg_status fg_mixer_create(fg_context* context, const fg_mixer_config* config, fg_mixer** out_model) {
    return guard("fg_mixer_create", [&] {
        if (!out_model) invalid("out_model is NULL");
        *out_model = nullptr;
        fg_context& c = fg::check_context(context);
        const Dims dims = validate_config(config);
        auto m = std::make_unique<fg_mixer>();
        fg::context_retain(&c);
        m->context = &c;
        m->config = *config;
        m->dims = dims;
        build_params(*m);
        init_params(*m);
        *out_model = m.release();
    });
}

FG_API fg_status fg_mixer_free(fg_mixer* model) {
    delete model;
    return FG_OK;
}

FG_API fg_status fg_mixer_param_count(fg_mixer* model, int32_t* out_tensors, int64_t* out_elements) {
    return guard("fg_mixer_param_count", [&] {
        fg_mixer& m = check_model(model);
        if (!out_tensors && !out_elements) invalid("out_tensors and out_elements are both NULL");
        int64_t total = 0;
        for (const Param& p : m.params) total += p.count();
        if (out_tensors) *out_tensors = static_cast<int32_t>(m.params.size());
        if (out_elements) *out_elements = total;
    });
}

FG_API fg_status fg_mixer_param_info(fg_mixer* model, int32_t index, fg_param_info* out_info) {
    return guard("fg_mixer_param_info", [&] {
        fg_mixer& m = check_model(model);
        if (!out_info) invalid("out_info is NULL");
        if (out_info->size < sizeof(fg_param_info))
            invalid("out_info->size is " + std::to_string(out_info->size) + ", expected sizeof(fg_param_info) = " +
                    std::to_string(sizeof(fg_param_info)));
        if (index < 0 || index >= static_cast<int32_t>(m.params.size()))
            invalid("index (" + std::to_string(index) + ") is outside [0, " + std::to_string(m.params.size()) + ")");
        *out_info = m.params[static_cast<size_t>(index)].info;
    });
}

FG_API fg_status fg_mixer_param(fg_mixer* model, int32_t index, fg_buffer** out_param, fg_buffer** out_grad) {
    return guard("fg_mixer_param", [&] {
        fg_mixer& m = check_model(model);
        if (!out_param && !out_grad) invalid("out_param and out_grad are both NULL");
        if (index < 0 || index >= static_cast<int32_t>(m.params.size()))
            invalid("index (" + std::to_string(index) + ") is outside [0, " + std::to_string(m.params.size()) + ")");
        if (out_param) *out_param = m.params[static_cast<size_t>(index)].value;
        if (out_grad) *out_grad = m.params[static_cast<size_t>(index)].grad;
    });
}

FG_API fg_status fg_mixer_forward(fg_mixer* model, int64_t batch, const fg_buffer* images, fg_buffer* logits) {
    return guard("fg_mixer_forward", [&] {
        fg_mixer& m = check_model(model);
        fg_context& c = *m.context;
        const Dims& d = m.dims;
        Run run = make_run(m, batch, images);
        run.method = kForwardOnly;
        float* out = fg::out_f32(c, logits, fg::elements({batch, d.N}), "logits");
        prepare_workspace(m, run);
        load_patches(m, run);
        const float* x = nullptr;
        for (int64_t k = 0; k < d.blocks; ++k) {
            BlockActs& a = m.ws.slots[static_cast<size_t>(k % 2)];
            block_forward(m, run, k, x, nullptr, a);
            x = a.group.a;
        }
        // logits = mean_p(out) W_f + b_f, with final_ln LN(mean_p(out)) W_f + b_f
        const float* features = final_features(m, batch, x);
        const Param& W = m.params[static_cast<size_t>(m.final_w)];
        const Param& b = m.params[static_cast<size_t>(m.final_w) + 1];
        fg::ops::linear_jvp(c, FG_LAYER_DENSE, batch, d.C, d.N, 1, 0, features, W.w(), b.w(), nullptr, out);
    });
}

FG_API fg_status fg_mixer_gradients(fg_mixer* model, int64_t batch, const fg_buffer* images, const fg_buffer* labels,
                                    const fg_step_options* options, fg_step_stats* out_stats) {
    return guard("fg_mixer_gradients", [&] {
        fg_mixer& m = check_model(model);
        check_stats(out_stats);
        Run run = make_run(m, batch, images);
        set_options(run, options);
        check_contrastive_step(m, run);
        load_labels(m, run, labels);
        fg_step_stats stats;
        gradients(m, run, stats);
        if (out_stats) *out_stats = stats;
    });
}

FG_API fg_status fg_mixer_workspace_bytes(fg_mixer* model, int32_t method, int32_t tangents, int64_t batch,
                                          uint64_t* out_bytes) {
    return guard("fg_mixer_workspace_bytes", [&] {
        fg_mixer& m = check_model(model);
        if (!out_bytes) invalid("out_bytes is NULL");
        check_method(method, tangents);
        fg::check_positive("batch", batch);
        *out_bytes = plan_workspace(m, method, is_backprop(method) ? 0 : tangents, batch, nullptr, nullptr);
    });
}

FG_API fg_status fg_mixer_gradient_cosine(fg_mixer* model, int64_t batch, const fg_buffer* images,
                                          const fg_buffer* labels, const fg_step_options* options, float* out_cosine,
                                          int32_t capacity) {
    return guard("fg_mixer_gradient_cosine", [&] {
        fg_mixer& m = check_model(model);
        if (!out_cosine) invalid("out_cosine is NULL");
        if (capacity < static_cast<int32_t>(m.params.size()))
            invalid("capacity (" + std::to_string(capacity) + ") is less than the parameter count (" +
                    std::to_string(m.params.size()) + ")");
        Run run = make_run(m, batch, images);
        set_options(run, options);
        check_contrastive_step(m, run);
        load_labels(m, run, labels);
        fg_step_stats stats;
        if (exact_counterpart(run.method) == run.method) {
            gradients(m, run, stats);
            for (size_t i = 0; i < m.params.size(); ++i) out_cosine[i] = 1.0f;
            return;
        }
        // The exact gradient of the method's own objective, then the estimate (left in the buffers).
        Run exact = run;
        exact.method = exact_counterpart(run.method);
        exact.K = 0;
        exact.S = run.R;
        exact.feedback = false;
        std::vector<std::vector<float>> want, got;
        gradients(m, exact, stats);
        download_grads(m, want);
        gradients(m, run, stats);
        download_grads(m, got);
        for (size_t i = 0; i < m.params.size(); ++i) {
            double dot = 0, nw = 0, ng = 0;
            for (size_t j = 0; j < want[i].size(); ++j) {
                dot += double(want[i][j]) * got[i][j];
                nw += double(want[i][j]) * want[i][j];
                ng += double(got[i][j]) * got[i][j];
            }
            // Two zero vectors agree; one zero vector is orthogonal to anything.
            out_cosine[i] = nw == 0 && ng == 0 ? 1.0f : nw == 0 || ng == 0 ? 0.0f : float(dot / std::sqrt(nw * ng));
        }
    });
}

FG_API fg_status fg_mixer_feedback_count(fg_mixer* model, int32_t method, int32_t* out_tensors) {
    return guard("fg_mixer_feedback_count", [&] {
        fg_mixer& m = check_model(model);
        if (!out_tensors) invalid("out_tensors is NULL");
        check_method_value(method);
        const int32_t list = feedback_list(method);
        *out_tensors = list < 0 ? 0 : static_cast<int32_t>(feedback(m, list).size());
    });
}


FG_API fg_status fg_mixer_feedback_info(fg_mixer* model, int32_t method, int32_t index, fg_param_info* out_info) {
    return guard("fg_mixer_feedback_info", [&] {
        fg_mixer& m = check_model(model);
        if (!out_info) invalid("out_info is NULL");
        if (out_info->size < sizeof(fg_param_info))
            invalid("out_info->size is " + std::to_string(out_info->size) + ", expected sizeof(fg_param_info) = " +
                    std::to_string(sizeof(fg_param_info)));
        *out_info = feedback_at(m, method, index).info;
    });
}

FG_API fg_status fg_mixer_feedback(fg_mixer* model, int32_t method, int32_t index, fg_buffer** out_feedback) {
    return guard("fg_mixer_feedback", [&] {
        fg_mixer& m = check_model(model);
        if (!out_feedback) invalid("out_feedback is NULL");
        *out_feedback = feedback_at(m, method, index).value;
    });
}

FG_API fg_status fg_mixer_fgw_sums(fg_mixer* model, int64_t batch, const fg_buffer* images, const fg_buffer* labels,
                                   const fg_step_options* options, float* out_sums, int64_t capacity,
                                   fg_step_stats* out_stats) {
    return guard("fg_mixer_fgw_sums", [&] {
        fg_mixer& m = check_model(model);
        check_stats(out_stats);
        Run run = make_run(m, batch, images);
        set_options(run, options);
        if (!is_weight(run.method))
            invalid(std::string("options->method is ") + method_name(run.method) +
                    "; the sums of d exist for weight perturbation only (FG-W, LG-FG-W)");
        const int64_t count = fgw_sum_count(m, run.method, run.K);
        if (!out_sums) invalid("out_sums is NULL");
        if (capacity < count)
            invalid("capacity (" + std::to_string(capacity) + ") is less than the " + std::to_string(count) + " sums of " +
                    method_name(run.method) + " with K = " + std::to_string(run.K));
        load_labels(m, run, labels);
        std::vector<double> sums(static_cast<size_t>(count), 0.0);
        run.fgw_sums = sums.data();
        fg_step_stats stats;
        gradients(m, run, stats);
        for (int64_t i = 0; i < count; ++i) out_sums[i] = static_cast<float>(sums[static_cast<size_t>(i)]);
        if (out_stats) *out_stats = stats;
    });
}

FG_API fg_status fg_mixer_fgw_apply(fg_mixer* model, const fg_step_options* options, const float* sums, int64_t count) {
    return guard("fg_mixer_fgw_apply", [&] {
        fg_mixer& m = check_model(model);
        Run run;
        set_options(run, options);
        if (!is_weight(run.method))
            invalid(std::string("options->method is ") + method_name(run.method) +
                    "; sums apply to weight perturbation only (FG-W, LG-FG-W)");
        const int64_t want = fgw_sum_count(m, run.method, run.K);
        if (!sums) invalid("sums is NULL");
        if (count != want)
            invalid("count (" + std::to_string(count) + ") is not the " + std::to_string(want) + " sums of " +
                    method_name(run.method) + " with K = " + std::to_string(run.K));
        // A one-image workspace holds the weight tangents and d's (K, P, G) >= (K, 1, G).
        run.B = 1;
        run.R = m.dims.P;
        run.S = (run.K + 1) * run.R;
        prepare_workspace(m, run);
        fgw_from_sums(m, run, sums);
    });
}

}  // extern "C"
