namespace ForwardGrad.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014): the generator behind every shuffle, split and augmentation here.
/// Fixed and documented so that the same seed gives the same order on every platform and .NET version.
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    /// <summary>Starts the generator at <paramref name="seed"/>.</summary>
    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>A generator keyed by several values (seed, epoch, sample index, ...).</summary>
    public static SplitMix64 Keyed(ulong a, ulong b = 0, ulong c = 0) => new(Mix(Mix(Mix(a) ^ b) ^ c));

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>) (rejection sampling, no modulo bias).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        ulong range = (ulong)bound;
        ulong limit = ulong.MaxValue - (ulong.MaxValue % range);
        ulong value;
        do
        {
            value = NextUInt64();
        }
        while (value >= limit);
        return (int)(value % range);
    }

    /// <summary>Fills <paramref name="order"/> with 0..n-1 shuffled by Fisher-Yates (from the last index down).</summary>
    public void Permute(Span<int> order)
    {
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
