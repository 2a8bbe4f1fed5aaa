// The LocalMixer model (METHOD.md section 3) and its training methods (section 4), built only from
// fg::Backend primitives and fg::ops, so the same code runs on every backend.
//
// Shapes: B batch, P = grid^2 patches, C channels, G groups, c = C/G, R = B*P rows, K tangents,
// S = (K+1)*R stacked rows (primal first, then tangent k in rows k*R..(k+1)*R-1), N classes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "context.h"

namespace fg::mixer {

struct Dims {
    int64_t H = 0, W = 0, Cin = 0, N = 0;  // image height, width, channels; classes
    int64_t blocks = 0, grid = 0, P = 0;   // blocks, patch grid, patches
    int64_t C = 0, G = 0, c = 0, Din = 0;  // channels, groups, channels per group, patch width
    bool pre_ln = false, inter_ln = false, final_ln = false;
    bool contrastive = false;  // FG_LOSS_CONTRASTIVE local losses (mixer_contrastive.cpp)
    int64_t head_out = 0;      // a block head's outputs: N, or FG_CONTRASTIVE_DIM
};

// Throws invalid() naming the field and its value; fills `dims`.
Dims validate_config(const fg_mixer_config* config);

// Which layer a parameter belongs to.
enum Role : int32_t { kToken, kChannel, kGroup, kHead, kFinal };

struct Param {
    fg_param_info info{};
    int32_t role = kChannel;
    fg_buffer* value = nullptr;
    fg_buffer* grad = nullptr;
    float* w() const { return static_cast<float*>(value->data); }
    float* g() const { return static_cast<float*>(grad->data); }
    int64_t count() const { return info.elements; }
};

// Index of each layer's weight in the parameter list; its bias follows it. -1: absent.
struct BlockParams {
    int32_t token = -1, channel = -1, group = -1, head = -1;
};

// One linear -> post-linear LN -> ReLU unit's primal activations, in workspace memory. Tangents are not
// kept per layer: they pass through the workspace's rotating tangent buffers (Workspace::tan).
struct LayerActs {
    float* xn = nullptr;       // (R, n) LN of the layer input [pre_linear_ln]
    float* xn_rstd = nullptr;  // (R), or (R*G) for the group layer's per-group LN
    float* z = nullptr;        // (R, m) post-linear LN output
    float* z_rstd = nullptr;   // (R), or (R*G) for the per-group LN
    float* a = nullptr;        // (R, m) ReLU output
};

// One block's activations; group.a is the block output.
struct BlockActs {
    LayerActs token, channel, group;
    float* on = nullptr;       // (R, C) LN(out) per group [inter_ln]
    float* on_rstd = nullptr;  // (R*G)
    // With K > 0 tangents, after block_forward: the block output's tangents (K, R, C), and LN(out)'s
    // when a local loss reads them [inter_ln]. Both point into Workspace::tan.
    float* out_tan = nullptr;
    float* on_tan = nullptr;
};

// Carved from one allocation; which pieces exist depends on the method (mixer_workspace.cpp).
struct Workspace {
    // One per block where the method needs every block at the end of the step (BP, L-BP, FG-A); else two,
    // alternating, so block k's input (block k-1's output) outlives block k-1 (local methods, FG-W).
    // Forward-gradient methods share every buffer of the two slots but the block output.
    std::vector<BlockActs> slots;
    float* patches = nullptr;      // (R, Din)
    float* h = nullptr;            // (R, C) linear output before its LN
    float* ln_mean = nullptr;      // (R*G) LN means, never read back
    float* xbar = nullptr;         // (B, C)
    float* xbar_ln = nullptr;      // (B, C) LN(xbar), the final classifier's input [final_ln]
    float* xbar_rstd = nullptr;    // (B) [final_ln]
    float* grad_xbar = nullptr;    // (B, C) the final loss's gradient w.r.t. xbar [final_ln]
    float* loss = nullptr;         // (B) per-example losses of the head being evaluated
    // Read back together once per step (read_losses), so carved next to each other:
    float* logits = nullptr;       // (B, N) the final classifier's logits
    float* means = nullptr;        // (FG_MAX_BLOCKS + 1) batch-mean losses: block k's head, the final at blocks
    float* d = nullptr;            // (K, R, G) directional derivatives
    float* tan[4] = {};            // (K, R, C) each: tangent buffers the layers' output tangents rotate through
    float* noise = nullptr;        // (K, R, C) one layer's activity noise, for backends that do not draw it as
                                   // they go (Backend::fuses_noise); drawn again for the estimate
    // (K, R, C) each: the current block's noise per layer, kept for its estimate by the local activity method
    // for as many layers as fit fg_context::keep_noise_max_bytes (those are never drawn twice); else null.
    float* kept_noise[3] = {};
    float* grad_z = nullptr;       // (R, C) a layer's gradient estimate w.r.t. its pre-LN output [activity]
    // Backprop's gradients w.r.t. activations (R, C) each: the block output's, and three scratch buffers.
    float* grad_out = nullptr;
    float* grad_a = nullptr;
    float* grad_b = nullptr;
    float* grad_c = nullptr;
    float* vw = nullptr;           // (K, backbone parameters) weight tangents [weight methods]
};

// The three linear units of a block (block 0 has no token layer).
enum LayerIndex : int32_t { kTokenLayer, kChannelLayer, kGroupLayer };

// Where the sign of a layer's ReLU output can be read: a itself where a residual is added before the ReLU
// (block k >= 1's group layer), else z, as a = ReLU(z). Readers that need z anyway then skip a.
inline const float* relu_sign(const LayerActs& L, int64_t block, int32_t layer) {
    return layer == kGroupLayer && block >= 1 ? L.a : L.z;
}

struct LayerSpec {
    int32_t kind;             // FG_LAYER_*
    int64_t n, m, groups;     // fg::ops::linear_* arguments
    int64_t ln_rows, ln_dim;  // the post-linear LN: (R, C), or per group (R*G, c)
    int64_t pre_rows, pre_dim;  // the LN of the input [pre_linear_ln]: (R, n), or per group (R*G, c)
    int32_t param;            // weight index; the bias follows
};

// A method value for fg_mixer_forward: primal only, one block alive at a time.
constexpr int32_t kForwardOnly = -1;

// What one call needs, fixed for the call.
struct Run {
    int32_t method = FG_METHOD_BP;
    int64_t K = 0;  // stacked tangents (0 for backprop methods)
    int64_t B = 0, R = 0, S = 0;
    uint32_t step = 0;
    uint64_t seed = 0;
    float head_lr = 1.0f, last_lr = 0.1f;
    int32_t channel_slices = FG_SLICES_SUM;  // LG-FG-W
    NoiseRows noise;  // where this batch's rows sit in the activity-noise streams (fg_step_options::global_batch)
    bool feedback = false;  // FA, L-FA, LG-FA: feedback matrices carry the gradient back instead of the weights
    const float* images = nullptr;
    const int32_t* labels = nullptr;
    // Weight methods: when set, each local loss's row sums of d, D (K, G) per block (LG-FG-W) or (K) for the
    // final loss (FG-W), are added here in double (fg_mixer_fgw_sums).
    double* fgw_sums = nullptr;
    // A pipeline stage (mixer_stages.cpp) of the local methods: blocks [first, last) only (last < 0: every block),
    // block `first` reading `input`, the output of block first-1; the final classifier only with the last block.
    int64_t first = 0, last = -1;
    const float* input = nullptr;
};

bool is_backprop(int32_t method);  // no tangents: BP, L-BP, LG-BP and the feedback-alignment methods
bool is_feedback(int32_t method);  // FA, L-FA, LG-FA, DFA
// The backward pass a method runs: FA -> BP, L-FA -> L-BP, LG-FA -> LG-BP; any other method itself.
int32_t backprop_structure(int32_t method);
// The exact method whose gradient a method estimates or approximates (fg_mixer_gradient_cosine); itself if exact.
int32_t exact_counterpart(int32_t method);
bool is_activity(int32_t method);  // FG-A, LG-FG-A
bool is_weight(int32_t method);    // FG-W, LG-FG-W
bool is_local(int32_t method);     // stop-gradient between blocks: one block alive at a time

}  // namespace fg::mixer

struct fg_mixer {
    fg_context* context = nullptr;
    fg_mixer_config config{};
    fg::mixer::Dims dims;
    std::vector<fg::mixer::Param> params;
    std::vector<fg::mixer::BlockParams> blocks;
    // Feedback matrices, drawn on first use (mixer_feedback.cpp): [kTransposedFeedback] for FA, L-FA and LG-FA,
    // [kDirectFeedback] for DFA.
    std::vector<fg::mixer::Param> feedback[2];
    std::vector<int32_t> feedback_of_param;  // index in feedback[kTransposedFeedback] of each weight, or -1
    int32_t final_w = -1;
    int64_t backbone_elements = 0;  // token, channel and group parameters (the ones FG-W perturbs)

    void* ws_data = nullptr;  // the step workspace, grown on demand, counted in live_bytes
    size_t ws_capacity = 0;
    fg::mixer::Workspace ws;

    // Host copy of ws.logits .. ws.means for the stats, and which of the losses this step wrote.
    std::vector<float> host_results;
    std::vector<bool> loss_written;
    std::vector<int32_t> host_labels;

    ~fg_mixer();
};

namespace fg::mixer {

// mixer_model.cpp: parameters and their initialisation.
void build_params(fg_mixer& m);
void init_params(fg_mixer& m);

// mixer_feedback.cpp: the feedback-alignment methods' fixed random matrices.
enum FeedbackList : int32_t { kTransposedFeedback = 0, kDirectFeedback = 1 };
// Which list a method uses, or -1.
int32_t feedback_list(int32_t method);
// The list, drawn on first use.
std::vector<Param>& feedback(fg_mixer& m, int32_t list);
// FA's stand-in for weight `param` (same shape).
const float* transposed_feedback(fg_mixer& m, int32_t param);
// DFA's (C, N) matrix of block k's `layer`.
const float* direct_feedback(fg_mixer& m, int64_t k, int32_t layer);

// mixer_workspace.cpp: bytes a step of `method` needs (base == nullptr), or carve ws from base.
size_t plan_workspace(const fg_mixer& m, int32_t method, int64_t K, int64_t B, char* base, Workspace* ws);
// Grows the allocation if needed and carves m.ws for the run; returns the bytes the method uses.
size_t prepare_workspace(fg_mixer& m, const Run& run);

// mixer_forward.cpp
// Block k's forward pass into `a`. x is the block input (R, C) (ignored for block 0, which reads
// ws.patches); x_tan its tangents (K, R, C), or null when the input is a stop-gradient. Weight methods
// push the tangents in ws.vw through; activity methods add noise (noise_id) to each layer's tangents.
// With K > 0 the output tangents land in a.out_tan (and a.on_tan), buffers of ws.tan other than x_tan.
void block_forward(fg_mixer& m, const Run& run, int64_t k, const float* x, const float* x_tan, BlockActs& a);
// The feature the block's local loss sees: out, or LN(out) with inter_ln; and its tangents.
const float* block_feature(const fg_mixer& m, const BlockActs& a);
const float* block_feature_tangents(const fg_mixer& m, const BlockActs& a);
LayerSpec layer_spec(const fg_mixer& m, int64_t R, int64_t k, int32_t layer);
// The primal input of block k's `layer` (x: the block input, unused by block 0).
const float* layer_input(const fg_mixer& m, int64_t k, int32_t layer, const float* x, const BlockActs& a);
// Patchifies the images into ws.patches.
void load_patches(fg_mixer& m, const Run& run);
// Fused local loss of block k's head on x (B,P,C) (xdot (K,B,P,C) or null), its batch-mean loss
// into ws.means, d (K,B,P,groups) if d, the head gradient times grad_scale if want_head,
// dx (B,P,C) if dx. Nothing is read back here (read_losses does, once per step). patches > 0 overrides
// P (the final classifier behind final_ln reads one); w_back replaces the head weight in d and dx.
void head_loss(fg_mixer& m, const Run& run, int64_t k, int32_t head_w, int64_t groups, const float* x,
               const float* xdot, float* d, bool want_head, float grad_scale, float* dx, int64_t patches = 0,
               const float* w_back = nullptr);
// The final classifier's input (B, C) for block output x: mean_p x, with final_ln its LN (ws.xbar, ws.xbar_ln).
const float* final_features(fg_mixer& m, int64_t B, const float* x);
// The final classifier's loss and logits into ws.means and ws.logits; d (K,B,P,1) and dx (B,P,C) w.r.t. the
// last block's output x; arguments as head_loss.
void final_loss(fg_mixer& m, const Run& run, const float* x, const float* xdot, float* d, float grad_scale,
                float* dx, const float* w_back = nullptr);
// After a step: one download of every loss and the final logits into stats (losses, accuracy).
void read_losses(fg_mixer& m, const Run& run, fg_step_stats& stats);
// Offset in ws.vw of the (K, count) weight tangents of backbone parameter `param`.
int64_t tangent_offset(const fg_mixer& m, int64_t K, int32_t param);
// Philox tensor ids.
uint32_t noise_id(int64_t block, int32_t layer);
uint32_t tangent_id(int32_t param);

// mixer_backprop.cpp: BP, L-BP, LG-BP, their feedback-alignment versions and DFA.
void backprop_gradients(fg_mixer& m, const Run& run, fg_step_stats& stats);
// mixer_forwardgrad.cpp: FG-A, LG-FG-A, FG-W, LG-FG-W.
void forward_gradients(fg_mixer& m, const Run& run, fg_step_stats& stats);
// Weight perturbation's sums of d (what fgw_sums collects): how many a step has, and the perturbed
// parameters' gradients from given sums (the tangents drawn from run's seed and step again).
int64_t fgw_sum_count(const fg_mixer& m, int32_t method, int64_t K);
void fgw_from_sums(fg_mixer& m, const Run& run, const float* sums);

// mixer_contrastive.cpp: refuses a step the contrastive loss does not support (method, odd batch);
// block k's contrastive local loss with head_loss's arguments (x over all 2*pairs images, xdot and d over
// view 1's pairs only).
void check_contrastive_step(const fg_mixer& m, const Run& run);
// Images of a B-image batch whose rows carry the K tangents of `method` (the first ones): all B, or with the
// contrastive loss (LG-FG-A) view 1's B/2, as view 2 is under stop-gradient and needs only its primal pass.
int64_t tangent_batch(const fg_mixer& m, int32_t method, int64_t B);
int64_t tangent_rows(const fg_mixer& m, const Run& run);  // tangent_batch(run) * P
void contrastive_head_loss(fg_mixer& m, const Run& run, int64_t k, int64_t groups, const float* x, const float* xdot,
                           float* d, bool want_head, float grad_scale, float* dx);

// mixer_api.cpp helpers shared by the methods.
void scale_in_place(fg_context& c, float* x, int64_t count, float scale);
// ... and by the C ABI's files (mixer_api.cpp, mixer_stages.cpp).
fg_mixer& check_model(fg_mixer* model);
const char* method_name(int32_t method);
void check_stats(const fg_step_stats* stats);
// The run skeleton of a batch of images (checked), and the step options and labels added to it.
Run make_run(fg_mixer& m, int64_t batch, const fg_buffer* images);
void set_options(Run& run, const fg_step_options* options);
void load_labels(fg_mixer& m, Run& run, const fg_buffer* labels);
// One step of run.method into the gradient buffers of the run's blocks, and its statistics.
void gradients(fg_mixer& m, const Run& run, fg_step_stats& stats);
// The end of run's block range: run.last, or every block.
inline int64_t last_block(const fg_mixer& m, const Run& run) { return run.last < 0 ? m.dims.blocks : run.last; }

}  // namespace fg::mixer
