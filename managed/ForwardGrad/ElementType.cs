namespace ForwardGrad;

/// <summary>What a <see cref="Tensor"/>'s elements are: 4 bytes each either way.</summary>
public enum ElementType
{
    /// <summary>float32 values (parameters, activations, tangents).</summary>
    Float32 = 0,

    /// <summary>int32 values (class labels).</summary>
    Int32 = 1,
}
