using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// The native <c>fg_mixer</c> object and its calls, taking <see cref="Tensor"/>s: the one place the model layer
/// reaches the C ABI. <see cref="LocalMixer"/> adds the shapes, the batch buffers and the public contract.
/// </summary>
internal sealed class NativeMixer : IDisposable
{
    private readonly MixerHandle _handle;

    /// <summary>Creates the native model (parameters initialised, gradients allocated) in <paramref name="context"/>.</summary>
    public NativeMixer(Context context, in FgMixerConfig config)
    {
        using (context.Lease())
        {
            _handle = MixerHandle.Create(context.Handle, in config);
        }
    }

    /// <summary>The number of parameter tensors and of parameter elements.</summary>
    public (int Tensors, long Elements) ParameterCount()
    {
        using var model = Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_param_count(model.Value, out int tensors, out long elements));
        return (tensors, elements);
    }

    /// <summary>Name, shape and role of parameter <paramref name="index"/>.</summary>
    public FgParamInfo ParameterInfo(int index)
    {
        using var model = Lease();
        var info = FgParamInfo.Create();
        NativeStatus.Check(NativeMethods.fg_mixer_param_info(model.Value, index, ref info));
        return info;
    }

    /// <summary>Parameter <paramref name="index"/> and its gradient as tensors borrowed from the model.</summary>
    public (Tensor Value, Tensor Gradient) Parameter(Context context, int index, long[] shape)
    {
        using var model = Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_param(model.Value, index, out nint value, out nint gradient));
        Tensor borrowedValue = Tensor.Borrow(context, _handle, value, shape);
        try
        {
            return (borrowedValue, Tensor.Borrow(context, _handle, gradient, shape));
        }
        catch
        {
            borrowedValue.Release();
            throw;
        }
    }

    /// <summary>The number of fixed feedback matrices <paramref name="method"/> uses (0 for methods without feedback).</summary>
    public int FeedbackCount(TrainingMethod method)
    {
        using var model = Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_feedback_count(model.Value, (int)method, out int count));
        return count;
    }

    /// <summary>Name and shape of feedback matrix <paramref name="index"/> of <paramref name="method"/>.</summary>
    public FgParamInfo FeedbackInfo(TrainingMethod method, int index)
    {
        using var model = Lease();
        var info = FgParamInfo.Create();
        NativeStatus.Check(NativeMethods.fg_mixer_feedback_info(model.Value, (int)method, index, ref info));
        return info;
    }

    /// <summary>Feedback matrix <paramref name="index"/> of <paramref name="method"/> as a tensor borrowed from the model.</summary>
    public Tensor Feedback(Context context, TrainingMethod method, int index, long[] shape)
    {
        using var model = Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_feedback(model.Value, (int)method, index, out nint buffer));
        return Tensor.Borrow(context, _handle, buffer, shape);
    }

    /// <summary>Logits (batch, classes) of the final classifier into <paramref name="logits"/>.</summary>
    public void Forward(long batch, Tensor images, Tensor logits)
    {
        using var model = Lease();
        using var input = images.Lease();
        using var output = logits.Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_forward(model.Value, batch, input.Value, output.Value));
    }

    /// <summary>Fills every gradient buffer for one step and returns the native statistics.</summary>
    public FgStepStats Gradients(long batch, Tensor images, Tensor labels, in FgStepOptions options)
    {
        var stats = FgStepStats.Create();
        using var model = Lease();
        using var input = images.Lease();
        using var target = labels.Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_gradients(model.Value, batch, input.Value, target.Value, in options, ref stats));
        return stats;
    }

    /// <summary>A weight-perturbation step (as <see cref="Gradients"/>) that also writes the sums of its directional derivatives.</summary>
    public unsafe FgStepStats WeightSums(long batch, Tensor images, Tensor labels, in FgStepOptions options, Span<float> sums)
    {
        var stats = FgStepStats.Create();
        using var model = Lease();
        using var input = images.Lease();
        using var target = labels.Lease();
        fixed (float* output = sums)
        {
            NativeStatus.Check(NativeMethods.fg_mixer_fgw_sums(model.Value, batch, input.Value, target.Value, in options, output, sums.Length, ref stats));
        }

        return stats;
    }

    /// <summary>Rewrites the perturbed parameters' gradients from directional-derivative sums.</summary>
    public unsafe void ApplyWeightSums(in FgStepOptions options, ReadOnlySpan<float> sums)
    {
        using var model = Lease();
        fixed (float* input = sums)
        {
            NativeStatus.Check(NativeMethods.fg_mixer_fgw_apply(model.Value, in options, input, sums.Length));
        }
    }

    /// <summary>Blocks [first, last) on <paramref name="input"/> (the images when first is 0, else block first-1's output) into <paramref name="output"/>.</summary>
    public void StageForward(long batch, BlockRange range, Tensor input, Tensor output)
    {
        using var model = Lease();
        using var source = input.Lease();
        using var target = output.Lease();
        nint images = range.First == 0 ? source.Value : 0, activations = range.First == 0 ? 0 : source.Value;
        NativeStatus.Check(NativeMethods.fg_mixer_stage_forward(model.Value, batch, images, activations, range.First, range.Last, target.Value));
    }

    /// <summary>A pipeline stage's gradients; <paramref name="output"/> (or null) receives the activations the next stage reads.</summary>
    public FgStepStats StageGradients(long batch, BlockRange range, Tensor input, Tensor labels, in FgStepOptions options, Tensor? output)
    {
        var stats = FgStepStats.Create();
        using var model = Lease();
        using var source = input.Lease();
        using var target = labels.Lease();
        nint images = range.First == 0 ? source.Value : 0, activations = range.First == 0 ? 0 : source.Value;
        if (output is null)
        {
            NativeStatus.Check(NativeMethods.fg_mixer_stage_gradients(model.Value, batch, images, activations, target.Value, in options,
                range.First, range.Last, 0, ref stats));
            return stats;
        }

        using var passed = output.Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_stage_gradients(model.Value, batch, images, activations, target.Value, in options,
            range.First, range.Last, passed.Value, ref stats));
        return stats;
    }

    /// <summary>Activation workspace bytes a step of <paramref name="method"/> needs at <paramref name="batch"/>.</summary>
    public ulong WorkspaceBytes(TrainingMethod method, int tangents, long batch)
    {
        using var model = Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_workspace_bytes(model.Value, (int)method, tangents, batch, out ulong bytes));
        return bytes;
    }

    /// <summary>Per-parameter cosine between the estimate and the exact gradient, into <paramref name="cosine"/>.</summary>
    public unsafe void GradientCosine(long batch, Tensor images, Tensor labels, in FgStepOptions options, Span<float> cosine)
    {
        using var model = Lease();
        using var input = images.Lease();
        using var target = labels.Lease();
        fixed (float* result = cosine)
        {
            NativeStatus.Check(NativeMethods.fg_mixer_gradient_cosine(model.Value, batch, input.Value, target.Value, in options, result, cosine.Length));
        }
    }

    /// <summary>Keeps the native model alive for one call and exposes its raw handle.</summary>
    public HandleLease Lease() => HandleLease.Of(_handle);

    /// <summary>Frees the native model once no borrowed tensor references it any more.</summary>
    public void Dispose() => _handle.Dispose();
}
