using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>The counter-based random numbers the forward-gradient tangents are drawn from.</summary>
public static partial class Ops
{
    /// <summary>
    /// Fills <paramref name="output"/> with N(0, 1) values that depend only on (<paramref name="seed"/>,
    /// <paramref name="step"/>, <paramref name="tensorId"/>, element index): Philox4x32-10 with key (seed low, seed high)
    /// and counter (i/4 low, i/4 high, step, tensorId), each block's four words turned into two Box-Muller pairs; element i
    /// takes lane i % 4. The same arguments give the same values on every backend (within 1e-6).
    /// </summary>
    public static void RandomNormal(Tensor output, ulong seed, uint step, uint tensorId)
    {
        Context context = ContextOf(output, nameof(output));
        Require(output, context, nameof(output));
        using var lease = context.Lease();
        using var outputBuffer = output.Lease();
        NativeStatus.Check(NativeMethods.fg_random_normal(lease.Value, outputBuffer.Value, (ulong)output.ElementCount, seed, step, tensorId));
    }

    /// <summary>One raw Philox4x32-10 block on the host: <paramref name="output"/> (4 words) = philox(counter (4), key (2)).</summary>
    public static unsafe void Philox4x32(ReadOnlySpan<uint> counter, ReadOnlySpan<uint> key, Span<uint> output)
    {
        RequireWords(counter.Length, 4, nameof(counter));
        RequireWords(key.Length, 2, nameof(key));
        RequireWords(output.Length, 4, nameof(output));
        fixed (uint* c = counter)
        fixed (uint* k = key)
        fixed (uint* o = output)
        {
            NativeStatus.Check(NativeMethods.fg_philox4x32_10(c, k, o));
        }
    }

    private static void RequireWords(int length, int expected, string parameterName)
    {
        if (length != expected)
        {
            throw new ArgumentException($"{parameterName} must hold exactly {expected} words, got {length}.", parameterName);
        }
    }
}
