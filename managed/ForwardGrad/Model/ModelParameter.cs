using System.Collections.ObjectModel;

namespace ForwardGrad.Model;

/// <summary>
/// One named parameter tensor of a <see cref="LocalMixer"/> and its gradient, as tensors borrowed from the model:
/// the model frees them, disposing them does nothing, and they become unusable when the model is disposed.
/// </summary>
public sealed class ModelParameter
{
    private readonly long[] _shape;

    internal ModelParameter(int index, string name, long[] shape, long elements, bool isWeight, int block, Tensor value, Tensor gradient)
    {
        Index = index;
        Name = name;
        _shape = shape;
        Shape = Array.AsReadOnly(shape);
        Elements = elements;
        IsWeight = isWeight;
        Block = block;
        Value = value;
        Gradient = gradient;
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

    /// <summary>The parameter's values, borrowed from the model (same shape as <see cref="Shape"/>).</summary>
    public Tensor Value { get; }

    /// <summary>The gradient the last step computed, borrowed from the model (same shape).</summary>
    public Tensor Gradient { get; }

    internal long[] ShapeArray => _shape;

    /// <summary>Copies the parameter's values out.</summary>
    public float[] ToArray() => Value.ToArray();

    /// <summary>Copies the gradient out.</summary>
    public float[] GradientToArray() => Gradient.ToArray();

    /// <summary>Overwrites the parameter's values (exactly <see cref="Elements"/> of them).</summary>
    public void Upload(ReadOnlySpan<float> values)
    {
        if (values.Length != Elements)
        {
            throw new ArgumentException($"{Name} has {Elements} elements, got {values.Length}.", nameof(values));
        }

        Value.Upload(values);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join(", ", _shape)}]";
}
