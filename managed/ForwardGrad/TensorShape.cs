namespace ForwardGrad;

/// <summary>Validation and formatting of tensor shapes.</summary>
internal static class TensorShape
{
    /// <summary>Checks that every dimension is at least 1 and returns the element count.</summary>
    public static long ElementCount(ReadOnlySpan<long> shape, string parameterName)
    {
        if (shape.IsEmpty)
        {
            throw new ArgumentException("A tensor needs at least one dimension.", parameterName);
        }

        long count = 1;
        foreach (long dimension in shape)
        {
            if (dimension < 1)
            {
                throw new ArgumentException($"Every dimension must be >= 1, got shape {Format(shape)}.", parameterName);
            }

            count = checked(count * dimension);
        }

        if (count > long.MaxValue / sizeof(float))
        {
            throw new ArgumentException($"Shape {Format(shape)} is too large.", parameterName);
        }

        return count;
    }

    /// <summary>Formats a shape as "[2, 3]".</summary>
    public static string Format(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
