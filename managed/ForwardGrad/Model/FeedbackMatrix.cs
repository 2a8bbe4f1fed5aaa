using System.Collections.ObjectModel;
using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// One fixed random feedback matrix of a feedback-alignment method (FA, L-FA, LG-FA: one per weight, with its shape;
/// DFA: one (C, classes) per layer). It is never trained; a checkpoint keeps it so that a resumed run uses the same one.
/// The native buffer is borrowed from the model and valid only while the model lives.
/// </summary>
public sealed class FeedbackMatrix
{
    private readonly LocalMixer _model;
    private readonly nint _buffer;

    internal FeedbackMatrix(LocalMixer model, string name, long[] shape, long elements, nint buffer)
    {
        _model = model;
        Name = name;
        ShapeArray = shape;
        Shape = Array.AsReadOnly(shape);
        Elements = elements;
        _buffer = buffer;
    }

    /// <summary>The native name, e.g. "feedback.block0.channel.weight" or "direct_feedback.block0.group".</summary>
    public string Name { get; }

    /// <summary>The dimensions, outermost first (row-major values).</summary>
    public ReadOnlyCollection<long> Shape { get; }

    /// <summary>Number of float32 elements.</summary>
    public long Elements { get; }

    internal long[] ShapeArray { get; }

    /// <summary>Copies the matrix out.</summary>
    public unsafe float[] ToArray()
    {
        var result = new float[Elements];
        using var lease = _model.Lease();
        fixed (float* data = result)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_download(_buffer, 0, data, (ulong)(Elements * sizeof(float))));
        }

        return result;
    }

    /// <summary>Overwrites the matrix (exactly <see cref="Elements"/> values), e.g. from a checkpoint.</summary>
    public unsafe void Upload(ReadOnlySpan<float> values)
    {
        if (values.Length != Elements)
        {
            throw new ArgumentException($"{Name} has {Elements} elements, got {values.Length}.", nameof(values));
        }

        using var lease = _model.Lease();
        fixed (float* data = values)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_upload(_buffer, 0, data, (ulong)(Elements * sizeof(float))));
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join(", ", ShapeArray)}]";
}
