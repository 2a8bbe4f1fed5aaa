namespace ForwardGrad.Tests.Support;

/// <summary>Reproducible random test data (never zeros).</summary>
internal static class RandomData
{
    /// <summary>Uniform values in [-1, 1) from a seeded generator.</summary>
    public static float[] Uniform(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return values;
    }
}
