namespace ForwardGrad.Data;

/// <summary>Turns one image of bytes into normalised floats, (x / 255 - mean_c) / std_c, applying the augmentation if any.</summary>
internal sealed class SampleEncoder
{
    private readonly float[] _table;
    private readonly int _height;
    private readonly int _width;
    private readonly int _channels;
    private readonly Augmentation? _augmentation;
    private readonly ulong _seed;

    public SampleEncoder(ChannelStats stats, int height, int width, int channels, Augmentation? augmentation, int seed)
    {
        if (stats.Channels != channels)
        {
            throw new ArgumentException($"The normalisation has {stats.Channels} channels, the images have {channels}.", nameof(stats));
        }

        if (augmentation is { CropPadding: < 0 })
        {
            throw new ArgumentOutOfRangeException(nameof(augmentation), augmentation.CropPadding, "The crop padding must not be negative.");
        }

        _height = height;
        _width = width;
        _channels = channels;
        _augmentation = augmentation;
        _seed = unchecked((ulong)seed);
        _table = new float[channels * 256];
        for (int c = 0; c < channels; c++)
        {
            for (int v = 0; v < 256; v++)
            {
                _table[(c * 256) + v] = (float)(((v / 255.0) - stats.Mean[c]) / stats.Std[c]);
            }
        }
    }

    /// <summary>Encodes <paramref name="source"/> (H, W, C bytes) of data set image <paramref name="index"/> into <paramref name="destination"/>.</summary>
    public void Encode(ReadOnlySpan<byte> source, Span<float> destination, int epoch, int index)
    {
        if (_augmentation is null)
        {
            for (int i = 0; i < source.Length; i += _channels)
            {
                for (int c = 0; c < _channels; c++)
                {
                    destination[i + c] = _table[(c * 256) + source[i + c]];
                }
            }

            return;
        }

        var random = SplitMix64.Keyed(_seed ^ 0xA06, unchecked((ulong)epoch), unchecked((ulong)index));
        int padding = _augmentation.CropPadding;
        int offsetY = padding == 0 ? 0 : random.NextInt((2 * padding) + 1) - padding;
        int offsetX = padding == 0 ? 0 : random.NextInt((2 * padding) + 1) - padding;
        bool flip = _augmentation.HorizontalFlip && (random.NextUInt64() & 1) == 1;
        for (int y = 0; y < _height; y++)
        {
            int sy = y + offsetY;
            for (int x = 0; x < _width; x++)
            {
                int sx = (flip ? _width - 1 - x : x) + offsetX;
                int target = ((y * _width) + x) * _channels;
                bool inside = sy >= 0 && sy < _height && sx >= 0 && sx < _width;
                int from = ((sy * _width) + sx) * _channels;
                for (int c = 0; c < _channels; c++)
                {
                    destination[target + c] = _table[(c * 256) + (inside ? source[from + c] : 0)];
                }
            }
        }
    }
}
