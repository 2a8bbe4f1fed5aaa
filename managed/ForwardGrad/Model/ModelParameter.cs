using System.Collections.ObjectModel;
using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// One named parameter tensor of a <see cref="LocalMixer"/> and its gradient. The native buffers are
/// borrowed from the model: they are never freed here and are valid only while the model lives.
/// </summary>
public sealed class ModelParameter
{
    private readonly LocalMixer _model;
    private readonly long[] _shape;

    internal ModelParameter(LocalMixer model, int index, string name, long[] shape, long elements, bool isWeight, int block, nint value, nint gradient)
    {
        _model = model;
        Index = index;
        Name = name;
        _shape = shape;
        Shape = Array.AsReadOnly(shape);
        Elements = elements;
        IsWeight = isWeight;
        Block = block;
        ValueBuffer = value;
        GradientBuffer = gradient;
    }

    /// <summary>Position in the model's parameter list.</summary>
    public int Index { get; }

    /// <summary>The native name, e.g. "block0.head.weight".</summary>
    public string Name { get; }

    /// <summary>
    /// The dimensions, outermost first; values are row-major. A weight is stored (in, out), as in Y = X W + b (so
    /// <c>torch.nn.Linear.weight</c> is its transpose); a grouped layer's weight is (groups, in, out), one block per group.
    /// </summary>
    public ReadOnlyCollection<long> Shape { get; }

    /// <summary>Number of float32 elements.</summary>
    public long Elements { get; }

    /// <summary>True for weights (weight decay applies), false for biases.</summary>
    public bool IsWeight { get; }

    /// <summary>Block index, or -1 for the final classifier.</summary>
    public int Block { get; }

    internal nint ValueBuffer { get; }

    internal nint GradientBuffer { get; }

    internal long[] ShapeArray => _shape;

    /// <summary>Copies the parameter's values out.</summary>
    public float[] ToArray() => Download(ValueBuffer);

    /// <summary>Copies the gradient out.</summary>
    public float[] GradientToArray() => Download(GradientBuffer);

    /// <summary>Overwrites the parameter's values (exactly <see cref="Elements"/> of them).</summary>
    public unsafe void Upload(ReadOnlySpan<float> values)
    {
        if (values.Length != Elements)
        {
            throw new ArgumentException($"{Name} has {Elements} elements, got {values.Length}.", nameof(values));
        }

        using var lease = _model.Lease();
        fixed (float* data = values)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_upload(ValueBuffer, 0, data, (ulong)(Elements * sizeof(float))));
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join(", ", _shape)}]";

    private unsafe float[] Download(nint buffer)
    {
        var result = new float[Elements];
        using var lease = _model.Lease();
        fixed (float* data = result)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_download(buffer, 0, data, (ulong)(Elements * sizeof(float))));
        }

        return result;
    }
}
