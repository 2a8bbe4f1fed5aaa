using System.Collections.ObjectModel;

namespace ForwardGrad.Model;

/// <summary>
/// One fixed random feedback matrix of a feedback-alignment method (FA, L-FA, LG-FA: one per weight, with its shape;
/// DFA: one (C, classes) per layer). It is never trained; a checkpoint keeps it so that a resumed run uses the same one.
/// <see cref="Value"/> is a tensor borrowed from the model, valid only while the model lives.
/// </summary>
public sealed class FeedbackMatrix
{
    internal FeedbackMatrix(string name, long[] shape, long elements, Tensor value)
    {
        Name = name;
        ShapeArray = shape;
        Shape = Array.AsReadOnly(shape);
        Elements = elements;
        Value = value;
    }

    /// <summary>The native name, e.g. "feedback.block0.channel.weight" or "direct_feedback.block0.group".</summary>
    public string Name { get; }

    /// <summary>The dimensions, outermost first (row-major values).</summary>
    public ReadOnlyCollection<long> Shape { get; }

    /// <summary>Number of float32 elements.</summary>
    public long Elements { get; }

    /// <summary>The matrix, borrowed from the model (disposing it does nothing).</summary>
    public Tensor Value { get; }

    internal long[] ShapeArray { get; }

    /// <summary>Copies the matrix out.</summary>
    public float[] ToArray() => Value.ToArray();

    /// <summary>Overwrites the matrix (exactly <see cref="Elements"/> values), e.g. from a checkpoint.</summary>
    public void Upload(ReadOnlySpan<float> values)
    {
        if (values.Length != Elements)
        {
            throw new ArgumentException($"{Name} has {Elements} elements, got {values.Length}.", nameof(values));
        }

        Value.Upload(values);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join(", ", ShapeArray)}]";
}
