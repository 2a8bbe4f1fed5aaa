// Forward-gradient estimators: the ops (fg::ops::fga_weight_grad, fgw_grad), composed once from backend
// primitives and used by the model too, and their C exports, which validate and call them. FG-A turns the
// activity tangents and the directional derivatives of the local losses into exact-through-LN weight
// gradients; FG-W scales the weight tangents.
#include <string>

#include "ops.h"

using fg::guard;
using fg::invalid;

namespace {

void check_flag(const char* name, int32_t value) {
    if (value != 0 && value != 1) invalid(std::string(name) + " must be 0 or 1 (got " + std::to_string(value) + ")");
}

void check_mode(const char* name, int32_t value, int32_t last, const char* choices) {
    if (value < 0 || value > last)
        invalid(std::string(name) + " must be one of " + choices + " (got " + std::to_string(value) + ")");
}

// The layer behind an FG-A estimate, in fg_fga_weight_grad's argument names.
void check_fga_layer(int32_t kind, int64_t rows, int64_t patches, int64_t channels, int64_t n_in,
                     int64_t layer_groups) {
    fg::check_positive("n_in", n_in);
    fg::check_positive("layer_groups", layer_groups);
    if (kind == FG_LAYER_DENSE && layer_groups != 1)
        invalid("layer_groups must be 1 for FG_LAYER_DENSE (got " + std::to_string(layer_groups) + ")");
    if (kind == FG_LAYER_GROUP) {
        fg::check_divides("layer_groups", layer_groups, "n_in", n_in);
        fg::check_divides("layer_groups", layer_groups, "channels", channels);
    }
    if (kind == FG_LAYER_TOKEN && (n_in != channels || layer_groups != patches))
        invalid("FG_LAYER_TOKEN needs n_in == channels and layer_groups == patches (got n_in " +
                std::to_string(n_in) + ", channels " + std::to_string(channels) + ", layer_groups " +
                std::to_string(layer_groups) + ", patches " + std::to_string(patches) + ")");
    fg::ops::check_linear_shape(kind, rows, n_in, channels, layer_groups);
}

}  // namespace

namespace fg::ops {

void fga_weight_grad(fg_context& c, const Backend::FgaNormVjp& p, float* noise_scratch, int32_t kind, int64_t n_in,
                     int64_t layer_groups, const float* x, float* dw, float* db, bool accumulate) {
    c.be().fga_norm_vjp(p, noise_scratch);
    if (dw || db)
        linear_backward(c, kind, p.batch * p.patches, n_in, p.width, layer_groups, x, nullptr, p.gz, nullptr, dw, db,
                        accumulate);
}

void fgw_grad(fg_context& c, int32_t slice_mode, int64_t count, int64_t cols, int64_t groups, int64_t rows,
              int64_t tangents, const float* v, const float* d, float* grad, bool accumulate) {
    c.be().fgw_grad(slice_mode, count, cols, groups, rows, tangents, v, d, grad, accumulate);
}

}  // namespace fg::ops

extern "C" {

FG_API fg_status fg_fga_weight_grad(fg_context* context, int32_t kind, int32_t scale_mode, int64_t batch,
                                    int64_t patches, int64_t channels, int64_t groups, int64_t n_in,
                                    int64_t layer_groups, int64_t tangents, const fg_buffer* u,
                                    const fg_buffer* act, const fg_buffer* d, const fg_buffer* zln,
                                    const fg_buffer* rstd, const fg_buffer* x, fg_buffer* workspace,
                                    fg_buffer* dw, fg_buffer* db, int32_t accumulate) {
    return guard("fg_fga_weight_grad", [&] {
        fg_context& c = fg::check_context(context);
        check_mode("kind", kind, FG_LAYER_TOKEN, "FG_LAYER_DENSE (0), FG_LAYER_GROUP (1), FG_LAYER_TOKEN (2)");
        check_mode("scale_mode", scale_mode, FG_SCALE_GLOBAL,
                   "FG_SCALE_GROUP (0), FG_SCALE_PATCH (1), FG_SCALE_GLOBAL (2)");
        fg::check_positive("batch", batch);
        fg::check_positive("patches", patches);
        fg::check_positive("channels", channels);
        fg::check_divides("groups", groups, "channels", channels);
        fg::check_positive("tangents", tangents);
        check_flag("accumulate", accumulate);
        const int64_t rows = batch * patches;
        check_fga_layer(kind, rows, patches, channels, n_in, layer_groups);

        const uint64_t units = fg::elements({batch, patches, channels});
        const float* u_p = fg::in_f32(c, u, fg::elements({tangents, batch, patches, channels}), "u");
        const float* act_p = fg::in_f32(c, act, units, "act");
        const float* d_p = fg::in_f32(c, d, fg::elements({tangents, batch, patches, groups}), "d");
        const float* zln_p = fg::in_f32(c, zln, units, "zln");
        // A group layer's LN normalises each group on its own: (B*P*G', C/G') rows.
        const int64_t ln_splits = kind == FG_LAYER_GROUP ? layer_groups : 1;
        const int64_t ln_rows = rows * ln_splits, ln_dim = channels / ln_splits;
        const float* rstd_p = fg::in_f32(c, rstd, fg::elements({ln_rows}), "rstd");
        const float* x_p = fg::in_f32(c, x, fg::elements({rows, n_in}), "x");
        float* gz = fg::out_f32(c, workspace, units, "workspace");
        float* dw_p = fg::opt_out_f32(c, dw, fg::ops::linear_weight_count(kind, n_in, channels, layer_groups), "dw");
        float* db_p = fg::opt_out_f32(c, db, fg::ops::linear_bias_count(kind, n_in, channels, layer_groups), "db");
        for (const fg_buffer* in : {u, act, d, zln, rstd, x})
            if (in == workspace) invalid("workspace must not be one of the input buffers");
        if (dw && (dw == workspace || dw == db)) invalid("dw must be distinct from workspace and db");
        if (db && db == workspace) invalid("db must be distinct from workspace");

        fg::Backend::FgaNormVjp p;
        p.mode = scale_mode, p.tangents = tangents, p.batch = batch, p.patches = patches, p.width = channels;
        p.groups = groups, p.ln_rows = ln_rows, p.ln_dim = ln_dim;
        p.noise_in = u_p, p.a = act_p, p.d = d_p, p.z = zln_p, p.rstd = rstd_p, p.gz = gz;
        fg::ops::fga_weight_grad(c, p, nullptr, kind, n_in, layer_groups, x_p, dw_p, db_p, accumulate == 1);
    });
}

FG_API fg_status fg_fgw_grad(fg_context* context, int32_t slice_mode, int64_t count, int64_t cols, int64_t groups,
                             int64_t rows, int64_t tangents, const fg_buffer* v, const fg_buffer* d,
                             fg_buffer* grad, int32_t accumulate) {
    return guard("fg_fgw_grad", [&] {
        fg_context& c = fg::check_context(context);
        check_mode("slice_mode", slice_mode, FG_WSLICE_ALL,
                   "FG_WSLICE_COLUMNS (0), FG_WSLICE_LEADING (1), FG_WSLICE_ALL (2)");
        fg::check_positive("count", count);
        fg::check_positive("groups", groups);
        fg::check_positive("rows", rows);
        fg::check_positive("tangents", tangents);
        check_flag("accumulate", accumulate);
        if (slice_mode == FG_WSLICE_COLUMNS) {
            fg::check_divides("cols", cols, "count", count);
            fg::check_divides("groups", groups, "cols", cols);
        }
        if (slice_mode == FG_WSLICE_LEADING) fg::check_divides("groups", groups, "count", count);
        const float* v_p = fg::in_f32(c, v, fg::elements({tangents, count}), "v");
        const float* d_p = fg::in_f32(c, d, fg::elements({tangents, rows, groups}), "d");
        float* grad_p = fg::out_f32(c, grad, fg::elements({count}), "grad");
        if (grad == v || grad == d) invalid("grad must not be the same buffer as v or d");

        fg::ops::fgw_grad(c, slice_mode, count, cols, groups, rows, tangents, v_p, d_p, grad_p, accumulate == 1);
    });
}

}  // extern "C"
