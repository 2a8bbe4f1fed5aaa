namespace ForwardGrad.Data;

/// <summary>
/// A fresh permutation of 0..count-1 for every epoch, fixed by (seed, epoch): Fisher-Yates driven by
/// SplitMix64 keyed with the seed and the epoch number. Every index appears exactly once per epoch.
/// </summary>
public sealed class EpochShuffler
{
    private readonly ulong _seed;

    /// <summary>Creates a shuffler for <paramref name="count"/> items.</summary>
    public EpochShuffler(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        Seed = seed;
        _seed = unchecked((ulong)seed);
    }

    /// <summary>How many items each permutation orders.</summary>
    public int Count { get; }

    /// <summary>The seed that fixes every epoch's order.</summary>
    public int Seed { get; }

    /// <summary>Writes the order of <paramref name="epoch"/> into <paramref name="destination"/> (length <see cref="Count"/>).</summary>
    public void Fill(int epoch, Span<int> destination)
    {
        if (destination.Length != Count)
        {
            throw new ArgumentException($"The destination holds {destination.Length} items; the shuffler orders {Count}.", nameof(destination));
        }

        SplitMix64.Keyed(_seed, unchecked((ulong)epoch), 0x5EED).Permute(destination);
    }

    /// <summary>The order of <paramref name="epoch"/> as a new array.</summary>
    public int[] Permutation(int epoch)
    {
        var order = new int[Count];
        Fill(epoch, order);
        return order;
    }
}
