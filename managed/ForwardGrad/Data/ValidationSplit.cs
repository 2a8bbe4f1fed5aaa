namespace ForwardGrad.Data;

/// <summary>Holds a validation set out of a training set, chosen by a seed, for hyper-parameter sweeps.</summary>
public static class ValidationSplit
{
    /// <summary>
    /// Splits <paramref name="data"/> into a training part and <paramref name="validationCount"/> held-out images.
    /// The held-out images are the first <paramref name="validationCount"/> of a seeded permutation; both parts
    /// keep the original order, so the same seed always gives the same two sets.
    /// </summary>
    public static (ImageDataset Train, ImageDataset Validation) HoldOut(ImageDataset data, int validationCount, int seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(validationCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(validationCount, data.Count);
        var order = new int[data.Count];
        SplitMix64.Keyed(unchecked((ulong)seed), 0x7A11D).Permute(order);
        int[] validation = order[..validationCount];
        int[] train = order[validationCount..];
        Array.Sort(validation);
        Array.Sort(train);
        return (data.Subset(train, $"{data.Name}/train"), data.Subset(validation, $"{data.Name}/validation"));
    }

    /// <summary>Holds out <paramref name="fraction"/> of <paramref name="data"/> (rounded, at least one image).</summary>
    public static (ImageDataset Train, ImageDataset Validation) HoldOut(ImageDataset data, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!(fraction > 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The validation fraction must be in (0, 1).");
        }

        return HoldOut(data, Math.Max(1, (int)Math.Round(data.Count * fraction)), seed);
    }
}
