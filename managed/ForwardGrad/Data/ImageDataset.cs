namespace ForwardGrad.Data;

/// <summary>
/// Images in memory: <see cref="Count"/> images of <see cref="Height"/> x <see cref="Width"/> x
/// <see cref="Channels"/> bytes in (N, H, W, C) order, one class label in [0, <see cref="ClassCount"/>) each.
/// </summary>
public sealed class ImageDataset
{
    private readonly byte[] _pixels;
    private readonly int[] _labels;

    /// <summary>Creates a data set over <paramref name="pixels"/> and <paramref name="labels"/> (taken, not copied).</summary>
    public ImageDataset(string name, byte[] pixels, int[] labels, int count, int height, int width, int channels, int classCount)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        if (pixels.LongLength != (long)count * height * width * channels)
        {
            throw new ArgumentException($"{pixels.LongLength} bytes do not make {count} images of {height}x{width}x{channels}.", nameof(pixels));
        }

        if (labels.Length != count)
        {
            throw new ArgumentException($"{labels.Length} labels for {count} images.", nameof(labels));
        }

        foreach (int label in labels)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(label, nameof(labels));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, classCount, nameof(labels));
        }

        Name = name;
        _pixels = pixels;
        _labels = labels;
        Count = count;
        Height = height;
        Width = width;
        Channels = channels;
        ClassCount = classCount;
    }

    /// <summary>The data set's name (for example "mnist-sample/train").</summary>
    public string Name { get; }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Channels per pixel (1 for grey, 3 for RGB).</summary>
    public int Channels { get; }

    /// <summary>Number of classes; every label is below it.</summary>
    public int ClassCount { get; }

    /// <summary>Bytes per image: H * W * C.</summary>
    public int ImageSize => Height * Width * Channels;

    /// <summary>All pixels, (N, H, W, C).</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <summary>All labels.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>The pixels of image <paramref name="index"/>, (H, W, C).</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _pixels.AsSpan(index * ImageSize, ImageSize);
    }

    /// <summary>Exact per-channel mean and std of this data set's pixels (scaled to [0, 1]).</summary>
    public ChannelStats ComputeStats() => ChannelStats.Compute(_pixels, Channels);

    /// <summary>How many images each class has.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassCount];
        foreach (int label in _labels)
        {
            counts[label]++;
        }

        return counts;
    }

    /// <summary>A new data set of the images at <paramref name="indices"/>, in that order (pixels copied).</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices, string name)
    {
        int size = ImageSize;
        var pixels = new byte[(long)indices.Length * size];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            Image(indices[i]).CopyTo(pixels.AsSpan(i * size, size));
            labels[i] = _labels[indices[i]];
        }

        return new ImageDataset(name, pixels, labels, indices.Length, Height, Width, Channels, ClassCount);
    }
}
