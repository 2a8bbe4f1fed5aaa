using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ForwardGrad.IO;

namespace ForwardGrad.Checkpoints;

/// <summary>A named float32 tensor of a safetensors file.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Data">Row-major values.</param>
public sealed record NamedTensor(string Name, long[] Shape, float[] Data);

/// <summary>Thrown for a file that is not a readable safetensors checkpoint, or one that does not fit a model.</summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CheckpointException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// Reads and writes the safetensors format (F32 only): an 8-byte little-endian header length, a JSON
/// header (dtype, shape, data_offsets per tensor, and a string map <c>__metadata__</c>), then the data.
/// Writes are atomic: a temporary file in the same folder, flushed, then moved over the target. Every write
/// records the SHA-256 of the data section under <see cref="ChecksumKey"/>; reads verify it when present and
/// refuse tensors whose byte ranges overlap, leave holes or run past the data.
/// </summary>
public static class SafeTensors
{
    /// <summary>The metadata key of the data section's SHA-256 (lower-case hex).</summary>
    public const string ChecksumKey = "data_sha256";

    /// <summary>Test hook: wraps the output stream (to inject a failure mid-write).</summary>
    internal static Func<Stream, Stream>? StreamWrapper { get; set; }

    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new JsonObject();
        var meta = new JsonObject();
        foreach (var (key, value) in metadata)
        {
            meta[key] = value;
        }

        meta[ChecksumKey] = DataChecksum(tensors);
        header["__metadata__"] = meta;
        long offset = 0;
        foreach (NamedTensor tensor in tensors)
        {
            long bytes = (long)tensor.Data.Length * sizeof(float);
            header[tensor.Name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray([.. tensor.Shape.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        byte[] headerBytes = new byte[padded];
        json.CopyTo(headerBytes, 0);
        headerBytes.AsSpan(json.Length).Fill((byte)' ');

        AtomicFile.Write(path, file =>
        {
            Stream stream = StreamWrapper?.Invoke(file) ?? file;
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(headerBytes);
            foreach (NamedTensor tensor in tensors)
            {
                stream.Write(MemoryMarshal.AsBytes(tensor.Data.AsSpan()));
            }

            stream.Flush();
        });
    }

    /// <summary>The SHA-256 (lower-case hex) of the tensors' bytes, in order: what <see cref="ChecksumKey"/> holds.</summary>
    public static string DataChecksum(IReadOnlyList<NamedTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (NamedTensor tensor in tensors)
        {
            hash.AppendData(MemoryMarshal.AsBytes(tensor.Data.AsSpan()));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The byte ranges, sorted, must cover the data section exactly once: no overlap, no hole, nothing past it.</summary>
    private static void RequireTiled(string path, List<(long Begin, long End, string Name)> ranges, long dataLength)
    {
        ranges.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End != b.End ? a.End.CompareTo(b.End) : string.CompareOrdinal(a.Name, b.Name));
        long covered = 0;
        string previous = "the start of the data";
        foreach (var (begin, end, name) in ranges)
        {
            if (begin != covered)
            {
                string problem = begin < covered ? $"overlaps {previous}" : $"leaves a gap of {begin - covered} bytes after {previous}";
                throw new CheckpointException($"checkpoint {path} is corrupt: tensor {name} at data offsets [{begin}, {end}) {problem}.");
            }

            covered = end;
            previous = $"tensor {name}";
        }

        if (covered != dataLength)
        {
            throw new CheckpointException($"checkpoint {path} is corrupt: its tensors cover {covered} bytes of a {dataLength}-byte data section.");
        }
    }

    /// <summary>Reads every tensor and the metadata of <paramref name="path"/>.</summary>
    public static (Dictionary<string, NamedTensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new CheckpointException($"checkpoint {path} does not exist.");
        }

        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            if (bytes.Length < 8)
            {
                throw new CheckpointException($"checkpoint {path} is corrupt: {bytes.Length} bytes, shorter than the 8-byte header length.");
            }

            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            if (headerLength > (ulong)(bytes.Length - 8))
            {
                throw new CheckpointException($"checkpoint {path} is corrupt: header length {headerLength} exceeds the file ({bytes.Length} bytes); it may be truncated.");
            }

            JsonObject header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLength))?.AsObject()
                ?? throw new CheckpointException($"checkpoint {path} is corrupt: empty header.");
            long dataStart = 8 + (long)headerLength;
            var metadata = new Dictionary<string, string>();
            var tensors = new Dictionary<string, NamedTensor>();
            var ranges = new List<(long Begin, long End, string Name)>();
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (key, value) in node!.AsObject())
                    {
                        metadata[key] = value!.GetValue<string>();
                    }

                    continue;
                }

                JsonObject entry = node!.AsObject();
                string dtype = entry["dtype"]!.GetValue<string>();
                if (dtype != "F32")
                {
                    throw new CheckpointException($"checkpoint {path}: tensor {name} has dtype {dtype}; only F32 is supported.");
                }

                long[] shape = [.. entry["shape"]!.AsArray().Select(d => d!.GetValue<long>())];
                long begin = entry["data_offsets"]![0]!.GetValue<long>();
                long end = entry["data_offsets"]![1]!.GetValue<long>();
                long elements = shape.Aggregate(1L, (a, d) => a * d);
                if (begin < 0 || end < begin || dataStart + end > bytes.Length || end - begin != elements * sizeof(float))
                {
                    throw new CheckpointException($"checkpoint {path} is corrupt: tensor {name} has data offsets [{begin}, {end}) that do not fit its shape [{string.Join(", ", shape)}] or the file ({bytes.Length} bytes).");
                }

                float[] data = MemoryMarshal.Cast<byte, float>(bytes.AsSpan((int)(dataStart + begin), (int)(end - begin))).ToArray();
                tensors[name] = new NamedTensor(name, shape, data);
                ranges.Add((begin, end, name));
            }

            RequireTiled(path, ranges, bytes.Length - dataStart);
            if (metadata.TryGetValue(ChecksumKey, out string? expected))
            {
                string actual = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan((int)dataStart)));
                if (actual != expected)
                {
                    throw new CheckpointException($"checkpoint {path} is corrupt: its tensor data does not match the SHA-256 in its metadata ({ChecksumKey}); the file was damaged after it was written.");
                }
            }

            return (tensors, metadata);
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or NullReferenceException or FormatException or KeyNotFoundException or ArgumentException)
        {
            throw new CheckpointException($"checkpoint {path} is corrupt: {error.Message}", error);
        }
    }
}
