namespace ForwardGrad.Data;

/// <summary>
/// One batch from a <see cref="BatchLoader"/>: normalised float32 images in (B, H, W, C) order and their labels.
/// The arrays are preallocated for a full batch, pinned, and reused: a batch is valid until the loader's
/// enumeration moves on. <see cref="Count"/> is less than the capacity only for a short last batch.
/// </summary>
public sealed class Batch
{
    internal Batch(int capacity, int height, int width, int channels)
    {
        Height = height;
        Width = width;
        Channels = channels;
        ImageBuffer = GC.AllocateUninitializedArray<float>(capacity * height * width * channels, pinned: true);
        LabelBuffer = GC.AllocateArray<int>(capacity, pinned: true);
    }

    /// <summary>Images in this batch (with contrastive views: two per data set image, view 1 of all first).</summary>
    public int Count { get; internal set; }

    /// <summary>The batch's position within its epoch (0-based).</summary>
    public int Index { get; internal set; }

    /// <summary>The epoch the batch belongs to.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>Channels per pixel.</summary>
    public int Channels { get; }

    /// <summary>The images, Count * H * W * C floats, (B, H, W, C).</summary>
    public ReadOnlySpan<float> Images => ImageBuffer.AsSpan(0, Count * Height * Width * Channels);

    /// <summary>The labels, Count ints.</summary>
    public ReadOnlySpan<int> Labels => LabelBuffer.AsSpan(0, Count);

    /// <summary>The whole pinned image array (capacity-sized; only the first Count images are this batch's).</summary>
    public float[] ImageBuffer { get; }

    /// <summary>The whole pinned label array (capacity-sized; only the first Count labels are this batch's).</summary>
    public int[] LabelBuffer { get; }
}
