using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

/// <summary>Small in-memory data sets whose images say which item they are.</summary>
internal static class TestDatasets
{
    /// <summary>Item i has every byte equal to i % 256 (and label i % classes).</summary>
    public static ImageDataset Numbered(int count, int height, int width, int channels, int classes = 10)
    {
        int size = height * width * channels;
        var pixels = new byte[count * size];
        for (int i = 0; i < count; i++)
        {
            pixels.AsSpan(i * size, size).Fill((byte)(i % 256));
        }

        return new ImageDataset("numbered", pixels, [.. Enumerable.Range(0, count).Select(i => i % classes)], count, height, width, channels, classes);
    }

    /// <summary>The item numbers of a data set made by <see cref="Numbered"/>.</summary>
    public static int[] Ids(ImageDataset data) => [.. Enumerable.Range(0, data.Count).Select(i => (int)data.Image(i)[0])];

    /// <summary>Random pixels and labels from a seed.</summary>
    public static ImageDataset Random(int count, int height, int width, int channels, int seed)
    {
        var random = new System.Random(seed);
        var pixels = new byte[count * height * width * channels];
        random.NextBytes(pixels);
        int[] labels = [.. Enumerable.Range(0, count).Select(_ => random.Next(10))];
        return new ImageDataset("random", pixels, labels, count, height, width, channels, 10);
    }
}
