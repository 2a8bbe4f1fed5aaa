namespace ForwardGrad.Data;

/// <summary>
/// Reads the binary version of CIFAR-10 (<c>data_batch_1..5.bin</c>, <c>test_batch.bin</c>): records of one
/// label byte and 3072 pixel bytes, the 1024 red values first, then green, then blue, each plane row-major.
/// Images come back in (H, W, C) order.
/// </summary>
public static class CifarBinary
{
    /// <summary>Image side in pixels.</summary>
    public const int Side = 32;

    /// <summary>Colour channels.</summary>
    public const int Channels = 3;

    /// <summary>Number of CIFAR-10 classes.</summary>
    public const int ClassCount = 10;

    /// <summary>Bytes per record: 1 label + 3 * 32 * 32 pixels.</summary>
    public const int RecordSize = 1 + (Side * Side * Channels);

    /// <summary>The training files, in order.</summary>
    public static IReadOnlyList<string> TrainFiles { get; } = [.. Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin")];

    /// <summary>The test file.</summary>
    public const string TestFile = "test_batch.bin";

    private const string DefaultMissingAdvice = "put the CIFAR-10 binary files (cifar-10-binary.tar.gz unpacked) there";

    /// <summary>Reads the given batch files, in order, into one data set.</summary>
    /// <exception cref="DatasetNotFoundException">A file does not exist.</exception>
    /// <exception cref="DataFormatException">A file is not a whole number of records or holds a label above 9.</exception>
    public static ImageDataset Read(IReadOnlyList<string> paths, string name, string? missingAdvice = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var raw = new List<(string Path, byte[] Bytes)>(paths.Count);
        long records = 0;
        foreach (string path in paths)
        {
            byte[] bytes = ReadFile(path, missingAdvice ?? DefaultMissingAdvice);
            raw.Add((path, bytes));
            records += bytes.Length / RecordSize;
        }

        int imageSize = RecordSize - 1;
        if (records * imageSize > Array.MaxLength)
        {
            throw new InvalidOperationException($"{records} CIFAR records do not fit in one array.");
        }

        var pixels = GC.AllocateUninitializedArray<byte>((int)(records * imageSize));
        var labels = new int[records];
        int n = 0;
        foreach (var (path, bytes) in raw)
        {
            int count = bytes.Length / RecordSize;
            int[] fileLabels = LabelCheck.ToClasses(Labels(bytes, count), ClassCount, path);
            for (int r = 0; r < count; r++, n++)
            {
                labels[n] = fileLabels[r];
                ToHwc(bytes.AsSpan((r * RecordSize) + 1, imageSize), pixels.AsSpan(n * imageSize, imageSize));
            }
        }

        return new ImageDataset(name, pixels, labels, (int)records, Side, Side, Channels, ClassCount);
    }

    /// <summary>Converts one image from planes (C, H, W) to interleaved (H, W, C).</summary>
    internal static void ToHwc(ReadOnlySpan<byte> planes, Span<byte> interleaved)
    {
        const int plane = Side * Side;
        for (int p = 0; p < plane; p++)
        {
            interleaved[(p * Channels) + 0] = planes[p];
            interleaved[(p * Channels) + 1] = planes[plane + p];
            interleaved[(p * Channels) + 2] = planes[(2 * plane) + p];
        }
    }

    private static byte[] Labels(byte[] bytes, int count)
    {
        var labels = new byte[count];
        for (int r = 0; r < count; r++)
        {
            labels[r] = bytes[r * RecordSize];
        }

        return labels;
    }

    private static byte[] ReadFile(string path, string missingAdvice)
    {
        using Stream stream = DataFile.Open(path, missingAdvice, out long? rawLength);
        byte[] bytes;
        if (rawLength is long length)
        {
            bytes = GC.AllocateUninitializedArray<byte>(checked((int)length));
            DataFile.ReadExactly(stream, bytes, path, "the CIFAR records");
        }
        else
        {
            using var buffer = new MemoryStream();
            try
            {
                stream.CopyTo(buffer);
            }
            catch (InvalidDataException error)
            {
                throw DataFormatException.For(path, $"the gzip data is corrupt ({error.Message})", inner: error);
            }

            bytes = buffer.ToArray();
        }

        if (bytes.Length == 0 || bytes.Length % RecordSize != 0)
        {
            throw DataFormatException.For(
                path,
                $"{bytes.Length} bytes is not a whole number of {RecordSize}-byte CIFAR-10 records (the file is truncated or is not CIFAR-10 binary)",
                "use the files of the binary version (cifar-10-binary.tar.gz), not the Python or MATLAB version, and fetch them again if they are cut short");
        }

        return bytes;
    }
}
