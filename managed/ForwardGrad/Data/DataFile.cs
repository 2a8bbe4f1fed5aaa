using System.IO.Compression;

namespace ForwardGrad.Data;

/// <summary>Opens data files, raw or gzip-compressed (recognised by the magic bytes 0x1f 0x8b, not by the name).</summary>
internal static class DataFile
{
    /// <summary>Opens <paramref name="path"/> for reading, decompressing it when it is gzip.</summary>
    /// <param name="path">The file.</param>
    /// <param name="missingAdvice">What to tell the user when the file does not exist.</param>
    /// <param name="rawLength">The file's length when it is not compressed; null for gzip.</param>
    public static Stream Open(string path, string missingAdvice, out long? rawLength)
    {
        if (!File.Exists(path))
        {
            throw new DatasetNotFoundException($"{path}: file not found; {missingAdvice}.", path);
        }

        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int read = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            rawLength = null;
            return new GZipStream(file, CompressionMode.Decompress, leaveOpen: false);
        }

        rawLength = file.Length;
        return file;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes or throws a <see cref="DataFormatException"/> naming the file.</summary>
    public static void ReadExactly(Stream stream, Span<byte> buffer, string path, string what)
    {
        int read;
        try
        {
            read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException error)
        {
            throw DataFormatException.For(path, $"the gzip data is corrupt while reading {what} ({error.Message})", inner: error);
        }

        if (read < buffer.Length)
        {
            throw DataFormatException.For(path, $"the file is truncated: {what} needs {buffer.Length} bytes, only {read} are there");
        }
    }

    /// <summary>Throws when the stream has bytes left after the expected content.</summary>
    public static void ExpectEnd(Stream stream, string path, long expectedBytes)
    {
        try
        {
            if (stream.ReadByte() >= 0)
            {
                throw DataFormatException.For(path, $"the file is longer than its header says ({expectedBytes} bytes)");
            }
        }
        catch (InvalidDataException error)
        {
            throw DataFormatException.For(path, $"the gzip data is corrupt ({error.Message})", inner: error);
        }
    }
}
