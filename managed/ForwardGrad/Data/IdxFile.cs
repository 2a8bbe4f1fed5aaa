using System.Buffers.Binary;
using ForwardGrad.IO;

namespace ForwardGrad.Data;

/// <summary>
/// Reads and writes IDX files (the MNIST format, also used by Fashion-MNIST and KMNIST): a big-endian
/// magic number (0x00000803 for images, 0x00000801 for labels), one big-endian 32-bit size per dimension,
/// then unsigned bytes. Files may be raw or gzip-compressed; compression is recognised by its magic bytes.
/// </summary>
public static class IdxFile
{
    /// <summary>Magic number of an IDX file of unsigned-byte images (3 dimensions: count, rows, columns).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of unsigned-byte labels (1 dimension: count).</summary>
    public const int LabelsMagic = 0x00000801;

    private const string DefaultMissingAdvice = "put the IDX file there (raw or .gz) or pass the folder that holds it";

    /// <summary>Reads an IDX image file (raw or gzip).</summary>
    /// <param name="path">The file.</param>
    /// <param name="missingAdvice">What a "file not found" error should tell the user to do.</param>
    /// <exception cref="DatasetNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is corrupt, truncated or not an IDX image file.</exception>
    public static IdxImages ReadImages(string path, string? missingAdvice = null)
    {
        int[] dims = [];
        byte[] data = Read(path, ImagesMagic, "images", missingAdvice, d => dims = d);
        return new IdxImages(dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads an IDX label file (raw or gzip).</summary>
    /// <param name="path">The file.</param>
    /// <param name="missingAdvice">What a "file not found" error should tell the user to do.</param>
    /// <exception cref="DatasetNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is corrupt, truncated or not an IDX label file.</exception>
    public static byte[] ReadLabels(string path, string? missingAdvice = null) =>
        Read(path, LabelsMagic, "labels", missingAdvice, _ => { });

    /// <summary>
    /// Reads an image file and a label file into an <see cref="ImageDataset"/> of 1-channel images, checking
    /// that the counts match and that every label is below <paramref name="classCount"/>.
    /// </summary>
    public static ImageDataset ReadDataset(string imagesPath, string labelsPath, string name, int classCount, string? missingAdvice = null)
    {
        IdxImages images = ReadImages(imagesPath, missingAdvice);
        byte[] labels = ReadLabels(labelsPath, missingAdvice);
        if (labels.Length != images.Count)
        {
            throw DataFormatException.For(
                labelsPath,
                $"{labels.Length} labels for {images.Count} images in {imagesPath}",
                "the image and label files do not belong together: use the matching pair");
        }

        int[] converted = LabelCheck.ToClasses(labels, classCount, labelsPath);
        return new ImageDataset(name, images.Pixels, converted, images.Count, images.Rows, images.Columns, 1, classCount);
    }

    /// <summary>Writes an uncompressed IDX image file atomically (temporary file, then rename).</summary>
    public static void WriteImages(string path, ReadOnlySpan<byte> pixels, int count, int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if (pixels.Length != (long)count * rows * columns)
        {
            throw new ArgumentException($"{pixels.Length} bytes do not make {count} images of {rows}x{columns}.", nameof(pixels));
        }

        byte[] copy = pixels.ToArray();
        AtomicFile.Write(path, stream =>
        {
            WriteHeader(stream, ImagesMagic, [count, rows, columns]);
            stream.Write(copy);
        });
    }

    /// <summary>Writes an uncompressed IDX label file atomically (temporary file, then rename).</summary>
    public static void WriteLabels(string path, ReadOnlySpan<byte> labels)
    {
        byte[] copy = labels.ToArray();
        AtomicFile.Write(path, stream =>
        {
            WriteHeader(stream, LabelsMagic, [copy.Length]);
            stream.Write(copy);
        });
    }

    private static void WriteHeader(Stream stream, int magic, ReadOnlySpan<int> dims)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, magic);
        stream.Write(word);
        foreach (int dim in dims)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, dim);
            stream.Write(word);
        }
    }

    private static byte[] Read(string path, int expectedMagic, string kind, string? missingAdvice, Action<int[]> dimensions)
    {
        using Stream stream = DataFile.Open(path, missingAdvice ?? DefaultMissingAdvice, out long? rawLength);
        Span<byte> word = stackalloc byte[4];
        DataFile.ReadExactly(stream, word, path, "the IDX magic number");
        int magic = BinaryPrimitives.ReadInt32BigEndian(word);
        if (magic != expectedMagic)
        {
            string found = magic switch
            {
                ImagesMagic => "an IDX image file",
                LabelsMagic => "an IDX label file",
                _ => "not an IDX file of unsigned bytes",
            };
            throw DataFormatException.For(
                path,
                $"wrong magic number 0x{magic:X8} (expected 0x{expectedMagic:X8} for IDX {kind}; this is {found})",
                "check that the path points at the right file (images vs labels) and that it is not damaged");
        }

        int rank = expectedMagic & 0xFF;
        var dims = new int[rank];
        long size = 1;
        for (int i = 0; i < rank; i++)
        {
            DataFile.ReadExactly(stream, word, path, "the IDX dimensions");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[i] < 0 || (i > 0 && dims[i] == 0))
            {
                throw DataFormatException.For(path, $"dimension {i} is {dims[i]}, which no IDX {kind} file has");
            }

            size *= dims[i];
            if (size > Array.MaxLength)
            {
                throw DataFormatException.For(path, $"the header promises more than {Array.MaxLength} bytes of {kind}");
            }
        }

        long headerBytes = 4 + (4L * rank);
        if (rawLength is long length && length != headerBytes + size)
        {
            string problem = length < headerBytes + size
                ? $"the file is truncated: its header promises {size} bytes of {kind} after {headerBytes} header bytes, the file has {length} bytes in all"
                : $"the file has {length} bytes, more than the {headerBytes + size} its header promises";
            throw DataFormatException.For(path, problem);
        }

        byte[] data = GC.AllocateUninitializedArray<byte>((int)size);
        DataFile.ReadExactly(stream, data, path, $"{size} bytes of {kind}");
        DataFile.ExpectEnd(stream, path, headerBytes + size);
        dimensions(dims);
        return data;
    }
}
