namespace ForwardGrad.Tests.Support;

/// <summary>Philox4x32-10 (Salmon et al., SC 2011) and the documented Box-Muller mapping, in plain C# and float64.</summary>
internal static class PhiloxReference
{
    public static uint[] Block(ReadOnlySpan<uint> counter, ReadOnlySpan<uint> key)
    {
        uint c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3], k0 = key[0], k1 = key[1];
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += 0x9E3779B9;
                k1 += 0xBB67AE85;
            }

            ulong p0 = 0xD2511F53UL * c0, p1 = 0xCD9E8D57UL * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
        }

        return [c0, c1, c2, c3];
    }

    /// <summary>Element <paramref name="index"/> of the normal stream of (seed, step, tensor id), all in float64.</summary>
    public static double Normal(ulong seed, uint step, uint tensorId, ulong index)
    {
        ulong block = index / 4;
        uint[] words = Block([(uint)block, (uint)(block >> 32), step, tensorId], [(uint)seed, (uint)(seed >> 32)]);
        int lane = (int)(index % 4), pair = lane / 2;
        double radius = Math.Sqrt(-2 * Math.Log(Uniform(words[2 * pair])));
        double angle = 2 * Math.PI * Uniform(words[(2 * pair) + 1]);
        return lane % 2 == 0 ? radius * Math.Cos(angle) : radius * Math.Sin(angle);

        static double Uniform(uint word) => (word + 0.5) / 4294967296.0;
    }
}
