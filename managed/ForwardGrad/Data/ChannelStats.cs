using System.Globalization;

namespace ForwardGrad.Data;

/// <summary>Per-channel mean and standard deviation of pixel values scaled to [0, 1] (pixel / 255).</summary>
public sealed class ChannelStats
{
    /// <summary>Creates statistics for as many channels as <paramref name="mean"/> has.</summary>
    public ChannelStats(IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
        {
            throw new ArgumentException($"Need one mean and one std per channel, got {mean.Count} means and {std.Count} stds.", nameof(std));
        }

        foreach (double s in std)
        {
            if (!(s > 0) || double.IsInfinity(s))
            {
                throw new ArgumentException($"Every std must be positive and finite, got {s}.", nameof(std));
            }
        }

        Mean = [.. mean];
        Std = [.. std];
    }

    /// <summary>Mean of pixel / 255 per channel.</summary>
    public IReadOnlyList<double> Mean { get; }

    /// <summary>Population standard deviation of pixel / 255 per channel.</summary>
    public IReadOnlyList<double> Std { get; }

    /// <summary>Number of channels.</summary>
    public int Channels => Mean.Count;

    /// <summary>Exact statistics of every pixel of <paramref name="pixels"/> laid out as (..., C).</summary>
    public static ChannelStats Compute(ReadOnlySpan<byte> pixels, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        var sum = new long[channels];
        var squares = new long[channels];
        for (int i = 0; i < pixels.Length; i++)
        {
            int v = pixels[i];
            int c = i % channels;
            sum[c] += v;
            squares[c] += v * v;
        }

        long perChannel = pixels.Length / channels;
        var mean = new double[channels];
        var std = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double m = perChannel == 0 ? 0 : (double)sum[c] / perChannel;
            double variance = perChannel == 0 ? 0 : Math.Max(0, ((double)squares[c] / perChannel) - (m * m));
            mean[c] = m / 255.0;
            std[c] = Math.Max(Math.Sqrt(variance) / 255.0, 1e-8);
        }

        return new ChannelStats(mean, std);
    }

    /// <summary>"mean (0.1307) std (0.3081)" with four decimals per channel.</summary>
    public override string ToString() =>
        $"mean ({Format(Mean)}) std ({Format(Std)})";

    private static string Format(IReadOnlyList<double> values) =>
        string.Join(", ", values.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)));
}
