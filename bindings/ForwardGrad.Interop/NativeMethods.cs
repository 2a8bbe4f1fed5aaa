using System.Runtime.InteropServices;

namespace ForwardGrad.Interop;

/// <summary>
/// One source-generated declaration per <c>fg_</c> function of forwardgrad.h, with the same names,
/// parameter order and blittable types (handles are <see cref="nint"/>; the managed layer passes the
/// values of its SafeHandles through a <see cref="HandleLease"/>, or a <see cref="HandleTable"/> for arrays).
/// Status-returning functions return <see cref="ForwardGradStatus"/>; pass it to <see cref="NativeStatus.Check"/>.
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>The library name the resolver maps to libforwardgrad.so, forwardgrad.dll or libforwardgrad.dylib.</summary>
    public const string LibraryName = "forwardgrad";

    static NativeMethods() => NativeLibraryResolver.Install();

    // ------------------------------------------------------------ versions and errors

    /// <summary>The ABI version of the loaded library (FG_ABI_VERSION).</summary>
    [LibraryImport(LibraryName)]
    public static partial int fg_abi_version();

    /// <summary>Library version, e.g. "0.1.0": a static UTF-8 string.</summary>
    [LibraryImport(LibraryName)]
    public static partial nint fg_version();

    /// <summary>Name of a status, e.g. "FG_ERR_INVALID_ARGUMENT": a static UTF-8 string.</summary>
    [LibraryImport(LibraryName)]
    public static partial nint fg_status_string(ForwardGradStatus status);

    /// <summary>Message of the last failure on this thread ("" when none); library-owned.</summary>
    [LibraryImport(LibraryName)]
    public static partial nint fg_last_error();

    // ------------------------------------------------------------ backends

    /// <summary>Whether a backend can be used here; when not, <paramref name="reason"/> receives why.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_backend_probe(int backend, out int available, byte* reason, int reasonCapacity);

    // ------------------------------------------------------------ contexts

    /// <summary>Creates a context for the backend named in <paramref name="options"/>.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_context_create(in FgContextOptions options, out nint context);

    /// <summary>Drops the caller's reference; the context lives on while buffers of it are alive. Accepts 0.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_context_free(nint context);

    /// <summary>Fills <paramref name="info"/> (whose Size the caller sets) with the CPU GEMM provider of the process.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_gemm_provider_info_get(ref FgGemmProviderInfo info);

    /// <summary>Fills <paramref name="properties"/> (whose Size the caller sets).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_context_info(nint context, ref FgContextProperties properties);

    /// <summary>Waits until all work queued on the context has finished (no-op on CPU).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_context_synchronize(nint context);

    /// <summary>Bytes held by the context's live buffers and workspaces.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_context_live_bytes(nint context, out ulong bytes);

    // ------------------------------------------------------------ buffers

    /// <summary>Allocates <paramref name="bytes"/> bytes of host (CPU) or device (CUDA) memory.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_buffer_alloc(nint context, ulong bytes, out nint buffer);

    /// <summary>Frees a buffer and releases its context reference. Accepts 0.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_buffer_free(nint buffer);

    /// <summary>The size of a buffer in bytes.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_buffer_size(nint buffer, out ulong bytes);

    /// <summary>Copies <paramref name="bytes"/> bytes from host memory into the buffer at <paramref name="offsetBytes"/>.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_buffer_upload(nint buffer, ulong offsetBytes, void* source, ulong bytes);

    /// <summary>Copies <paramref name="bytes"/> bytes from the buffer at <paramref name="offsetBytes"/> into host memory.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_buffer_download(nint buffer, ulong offsetBytes, void* destination, ulong bytes);

    /// <summary>Sets <paramref name="count"/> float32 elements starting at element <paramref name="offset"/> to <paramref name="value"/>.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_buffer_fill_f32(nint buffer, ulong offset, ulong count, float value);

    /// <summary>Copies bytes between two non-overlapping ranges of buffers of the same context.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_buffer_copy(nint destination, ulong destinationOffsetBytes, nint source, ulong sourceOffsetBytes, ulong bytes);

    // ------------------------------------------------------------ GEMM

    /// <summary>C = alpha op(A) op(B) + beta C, row-major; beta == 0 ignores the old contents of C.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_gemm(nint context, int transA, int transB, long m, long n, long k,
        float alpha, nint a, nint b, float beta, nint c);

    // ------------------------------------------------------------ random tangents

    /// <summary>out[i] ~ N(0, 1) for i &lt; count from Philox4x32-10 keyed by (seed, step, tensor id, i).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_random_normal(nint context, nint output, ulong count, ulong seed, uint step, uint tensorId);

    /// <summary>The raw Philox4x32-10 block: output[4] = philox(counter[4], key[2]). Host only.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_philox4x32_10(uint* counter, uint* key, uint* output);

    // ------------------------------------------------------------ linear layers

    /// <summary>Fused JVP of a dense, group or token linear layer over stacked tangents.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_linear_jvp(nint context, int kind, long rows, long n, long m,
        long groups, long tangents, nint xx, nint w, nint b, nint wdot, nint yy);

    /// <summary>Backward of Y = X W + b: dX, dW and db, each optional.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_linear_backward(nint context, int kind, long rows, long n, long m,
        long groups, nint x, nint w, nint dy, nint dx, nint dw, nint db, int accumulate);

    // ------------------------------------------------------------ LayerNorm

    /// <summary>Y = (X - mean) * rstd over rows of width <paramref name="dim"/>; saves mean and rstd.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_layernorm_forward(nint context, long rows, long dim, nint x,
        nint y, nint mean, nint rstd);

    /// <summary>LayerNorm tangents for K stacked tangents; ydot may alias xdot.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_layernorm_jvp(nint context, long rows, long dim, long tangents,
        nint y, nint rstd, nint xdot, nint ydot);

    /// <summary>LayerNorm vector-Jacobian product; dx may alias dy.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_layernorm_vjp(nint context, long rows, long dim, nint y,
        nint rstd, nint dy, nint dx);

    // ------------------------------------------------------------ perturbed ReLU

    /// <summary>A = relu(Z + Res) and its perturbed tangents; each optional input may be 0.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_relu_jvp(nint context, long count, long tangents, nint z,
        nint residual, nint zdot, nint u, nint residualDot, nint a, nint adot);

    /// <summary>dZ = [A &gt; 0] * dA; dz may alias da.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_relu_backward(nint context, long count, nint a, nint da, nint dz);

    // ------------------------------------------------------------ fused local loss

    /// <summary>The block's fused local loss: loss, logits, directional derivatives and head gradients.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_local_loss(nint context, long batch, long patches, long channels,
        long groups, long classes, long tangents, nint x, nint xdot, nint w, nint b, nint labels, nint loss,
        nint logits, nint d, nint dw, nint db, nint dx);

    /// <summary>The block's fused contrastive local loss between two views: loss, directional derivatives, head gradients.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_contrastive_loss(nint context, long pairs, long patches, long channels,
        long groups, long dim, long tangents, float temperature, nint x, nint xdot, nint w, nint b, nint loss,
        nint d, nint dw, nint db, nint dx);

    // ------------------------------------------------------------ gradient estimators

    /// <summary>Activity-perturbation weight gradient (FG-A / LG-FG-A) of one layer.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_fga_weight_grad(nint context, int kind, int scaleMode, long batch,
        long patches, long channels, long groups, long nIn, long layerGroups, long tangents, nint u, nint act,
        nint d, nint zln, nint rstd, nint x, nint workspace, nint dw, nint db, int accumulate);

    /// <summary>Weight-perturbation gradient (FG-W / LG-FG-W) of one parameter.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_fgw_grad(nint context, int sliceMode, long count, long cols,
        long groups, long rows, long tangents, nint v, nint d, nint grad, int accumulate);

    // ------------------------------------------------------------ optimizers

    /// <summary>Updates <paramref name="count"/> parameters in one call (arrays of buffer handles).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_optimizer_step(nint context, in FgOptimizerParams parameters, int count,
        nint* parameterBuffers, nint* grads, nint* state1, nint* state2, int* decay);

    // ------------------------------------------------------------ LocalMixer model

    /// <summary>Creates a LocalMixer model with its parameters and gradients in <paramref name="context"/>.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_create(nint context, in FgMixerConfig config, out nint model);

    /// <summary>Frees a model and its parameter buffers. Accepts 0.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_free(nint model);

    /// <summary>The number of parameter tensors and of parameter elements.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_param_count(nint model, out int tensors, out long elements);

    /// <summary>Shape, role and name of parameter <paramref name="index"/> (the caller sets info.Size).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_param_info(nint model, int index, ref FgParamInfo info);

    /// <summary>Borrowed buffer handles of parameter <paramref name="index"/> and of its gradient; never freed by the caller.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_param(nint model, int index, out nint parameter, out nint gradient);

    /// <summary>The number of fixed feedback matrices <paramref name="method"/> uses (0 for methods without feedback).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_feedback_count(nint model, int method, out int tensors);

    /// <summary>Shape and name of feedback matrix <paramref name="index"/> of <paramref name="method"/> (the caller sets info.Size).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_feedback_info(nint model, int method, int index, ref FgParamInfo info);

    /// <summary>Borrowed buffer handle of feedback matrix <paramref name="index"/> of <paramref name="method"/>; never freed by the caller.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_feedback(nint model, int method, int index, out nint feedback);

    /// <summary>Logits (B, classes) of the final classifier for images (B, H, W, C_in).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_forward(nint model, long batch, nint images, nint logits);

    /// <summary>Fills every gradient buffer for one step of options.Method and reports the losses.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_gradients(nint model, long batch, nint images, nint labels,
        in FgStepOptions options, ref FgStepStats stats);

    /// <summary>Activation workspace bytes a step of <paramref name="method"/> needs.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_workspace_bytes(nint model, int method, int tangents, long batch, out ulong bytes);

    /// <summary>Per-parameter cosine similarity between the method's estimate and the exact gradient of its objective.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_gradient_cosine(nint model, long batch, nint images, nint labels,
        in FgStepOptions options, float* cosine, int capacity);

    /// <summary>A weight-perturbation step (FG-W, LG-FG-W) that also returns the sums of its directional derivatives.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_fgw_sums(nint model, long batch, nint images, nint labels,
        in FgStepOptions options, float* sums, long capacity, ref FgStepStats stats);

    /// <summary>Rewrites the perturbed parameters' gradients from given sums of directional derivatives.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_fgw_apply(nint model, in FgStepOptions options, float* sums, long count);

    /// <summary>Blocks [first, last) on the images (first == 0) or on block first-1's output; block last-1's output into output.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_stage_forward(nint model, long batch, nint images, nint input, int first, int last, nint output);

    /// <summary>A pipeline stage's gradients (local methods only): the blocks [first, last), and the final classifier with the last block.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_mixer_stage_gradients(nint model, long batch, nint images, nint input, nint labels,
        in FgStepOptions options, int first, int last, nint output, ref FgStepStats stats);
}
