namespace ForwardGrad.Data;

/// <summary>
/// Draws one view of an image for <see cref="ContrastiveViews"/>: an inverse affine map from each output pixel to a
/// point of the source, sampled bilinearly (outside the image reads 0), then colour jitter, then the per-channel
/// normalisation (x / 255 - mean_c) / std_c.
/// </summary>
internal sealed class ViewSampler
{
    private readonly ContrastiveViews _views;
    private readonly ChannelStats _stats;
    private readonly int _height;
    private readonly int _width;
    private readonly int _channels;
    private readonly ulong _seed;

    public ViewSampler(ContrastiveViews views, ChannelStats stats, int height, int width, int channels, int seed)
    {
        if (stats.Channels != channels)
        {
            throw new ArgumentException($"The normalisation has {stats.Channels} channels, the images have {channels}.", nameof(stats));
        }

        _views = views;
        _stats = stats;
        _height = height;
        _width = width;
        _channels = channels;
        _seed = unchecked((ulong)seed);
    }

    /// <summary>View <paramref name="view"/> (0 or 1) of image <paramref name="index"/> in <paramref name="epoch"/>, (H, W, C) floats.</summary>
    public void Encode(ReadOnlySpan<byte> source, Span<float> destination, int epoch, int index, int view)
    {
        var random = SplitMix64.Keyed(_seed ^ 0xC0A7, unchecked((ulong)epoch), unchecked(((ulong)index * 2) + (ulong)view));
        Map map = _views.ResizedCrop ? ResizedCrop(ref random) : Jitter(ref random);
        for (int y = 0; y < _height; y++)
        {
            for (int x = 0; x < _width; x++)
            {
                double sx = map.X0 + (map.Xx * x) + (map.Xy * y);
                double sy = map.Y0 + (map.Yx * x) + (map.Yy * y);
                Bilinear(source, sx, sy, destination.Slice(((y * _width) + x) * _channels, _channels));
            }
        }

        if (_views.ColorJitter > 0)
        {
            JitterColour(destination, ref random);
        }

        for (int i = 0; i < destination.Length; i++)
        {
            int c = i % _channels;
            destination[i] = (float)(((destination[i] / 255.0) - _stats.Mean[c]) / _stats.Std[c]);
        }
    }

    /// <summary>Source point = (X0 + Xx x + Xy y, Y0 + Yx x + Yy y) for output pixel (x, y).</summary>
    private readonly record struct Map(double X0, double Xx, double Xy, double Y0, double Yx, double Yy);

    private static double Uniform(ref SplitMix64 random, double low, double high) =>
        low + ((high - low) * (random.NextUInt64() >> 11) * (1.0 / (1UL << 53)));

    // Rotation and scale about the centre, then a whole-pixel shift of up to CropPadding.
    private Map Jitter(ref SplitMix64 random)
    {
        int padding = _views.CropPadding;
        int shiftX = padding == 0 ? 0 : random.NextInt((2 * padding) + 1) - padding;
        int shiftY = padding == 0 ? 0 : random.NextInt((2 * padding) + 1) - padding;
        double angle = Uniform(ref random, -_views.MaxRotationDegrees, _views.MaxRotationDegrees) * Math.PI / 180;
        double scale = Uniform(ref random, 1 - _views.MaxScaleChange, 1 + _views.MaxScaleChange);
        double cos = Math.Cos(angle) / scale, sin = Math.Sin(angle) / scale;
        double cx = (_width - 1) / 2.0, cy = (_height - 1) / 2.0;
        // source = R(-angle) / scale * (out - centre - shift) + centre
        double ox = -cx - shiftX, oy = -cy - shiftY;
        return new Map(cx + (cos * ox) + (sin * oy), cos, sin, cy - (sin * ox) + (cos * oy), -sin, cos);
    }

    // A crop of random area and aspect ratio, resized to the image, mirrored with probability 1/2.
    private Map ResizedCrop(ref SplitMix64 random)
    {
        double area = Uniform(ref random, _views.MinCropArea, 1.0);
        double aspect = Math.Exp(Uniform(ref random, Math.Log(3.0 / 4), Math.Log(4.0 / 3)));
        double w = Math.Min(_width, Math.Sqrt(area * aspect) * _width);
        double h = Math.Min(_height, Math.Sqrt(area / aspect) * _height);
        double left = Uniform(ref random, 0, _width - w), top = Uniform(ref random, 0, _height - h);
        bool flip = _views.HorizontalFlip && (random.NextUInt64() & 1) == 1;
        double sx = w / _width, sy = h / _height;
        // Pixel centres: out (x + 0.5) maps to left + (x + 0.5) * sx, minus 0.5 back to indices.
        double x0 = left + (0.5 * sx) - 0.5;
        return flip
            ? new Map(x0 + ((_width - 1) * sx), -sx, 0, top + (0.5 * sy) - 0.5, 0, sy)
            : new Map(x0, sx, 0, top + (0.5 * sy) - 0.5, 0, sy);
    }

    private void Bilinear(ReadOnlySpan<byte> source, double sx, double sy, Span<float> pixel)
    {
        int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
        double fx = sx - x0, fy = sy - y0;
        for (int c = 0; c < _channels; c++)
        {
            double top = ((1 - fx) * Read(source, x0, y0, c)) + (fx * Read(source, x0 + 1, y0, c));
            double bottom = ((1 - fx) * Read(source, x0, y0 + 1, c)) + (fx * Read(source, x0 + 1, y0 + 1, c));
            pixel[c] = (float)(((1 - fy) * top) + (fy * bottom));
        }
    }

    private double Read(ReadOnlySpan<byte> source, int x, int y, int c) =>
        x < 0 || y < 0 || x >= _width || y >= _height ? 0 : source[(((y * _width) + x) * _channels) + c];

    // Brightness, contrast (about the mean grey level), saturation (about each pixel's grey), in that order, clipped to [0, 255].
    private void JitterColour(Span<float> image, ref SplitMix64 random)
    {
        double j = _views.ColorJitter;
        double brightness = Uniform(ref random, 1 - j, 1 + j);
        double contrast = Uniform(ref random, 1 - j, 1 + j);
        double saturation = Uniform(ref random, 1 - j, 1 + j);
        for (int i = 0; i < image.Length; i++)
        {
            image[i] = (float)Math.Clamp(image[i] * brightness, 0, 255);
        }

        double meanGrey = 0;
        int pixels = image.Length / _channels;
        for (int p = 0; p < pixels; p++)
        {
            meanGrey += Grey(image.Slice(p * _channels, _channels));
        }

        meanGrey /= pixels;
        for (int p = 0; p < pixels; p++)
        {
            Span<float> px = image.Slice(p * _channels, _channels);
            for (int c = 0; c < _channels; c++)
            {
                px[c] = (float)Math.Clamp(((px[c] - meanGrey) * contrast) + meanGrey, 0, 255);
            }

            double grey = Grey(px);
            for (int c = 0; c < _channels; c++)
            {
                px[c] = (float)Math.Clamp(((px[c] - grey) * saturation) + grey, 0, 255);
            }
        }
    }

    private static double Grey(ReadOnlySpan<float> px) =>
        px.Length == 3 ? (0.299 * px[0]) + (0.587 * px[1]) + (0.114 * px[2]) : px[0];
}
