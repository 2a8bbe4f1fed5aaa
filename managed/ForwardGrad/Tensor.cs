using System.Collections.ObjectModel;
using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>
/// A row-major float32 tensor held in a native buffer of one <see cref="Context"/> (host memory on CPU,
/// device memory on CUDA). Dispose it to free the buffer; any use after that throws
/// <see cref="ObjectDisposedException"/>. A tensor keeps its context's native state alive.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly BufferHandle _buffer;
    private readonly long[] _shape;
    private int _disposed;

    private Tensor(Context context, ReadOnlySpan<long> shape, string shapeParameterName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ElementCount = TensorShape.ElementCount(shape, shapeParameterName);
        _shape = shape.ToArray();
        Shape = Array.AsReadOnly(_shape);
        using (context.Lease())
        {
            _buffer = BufferHandle.Allocate(context.Handle, (ulong)ByteCount);
        }

        Context = context;
    }

    /// <summary>The context that owns the tensor's buffer.</summary>
    public Context Context { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlyCollection<long> Shape { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of float32 elements.</summary>
    public long ElementCount { get; }

    /// <summary>The size of the data in bytes.</summary>
    public long ByteCount => ElementCount * sizeof(float);

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Creates a tensor with every element set to 0.</summary>
    public static Tensor Zeros(Context context, params ReadOnlySpan<long> shape) => Full(context, 0f, shape);

    /// <summary>Creates a tensor with every element set to <paramref name="value"/>.</summary>
    public static Tensor Full(Context context, float value, params ReadOnlySpan<long> shape)
    {
        var tensor = new Tensor(context, shape, nameof(shape));
        try
        {
            tensor.Fill(value);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a tensor holding a copy of <paramref name="data"/>. Without a shape it is one-dimensional;
    /// with one, the shape's element count must equal the data's length.
    /// </summary>
    public static Tensor FromArray(Context context, ReadOnlySpan<float> data, params ReadOnlySpan<long> shape)
    {
        ReadOnlySpan<long> effective = shape.IsEmpty ? [data.Length] : shape;
        if (!shape.IsEmpty && TensorShape.ElementCount(shape, nameof(shape)) != data.Length)
        {
            throw new ArgumentException(
                $"Shape {TensorShape.Format(shape)} holds {TensorShape.ElementCount(shape, nameof(shape))} elements but data has {data.Length}.",
                nameof(data));
        }

        var tensor = new Tensor(context, effective, shape.IsEmpty ? nameof(data) : nameof(shape));
        try
        {
            tensor.Upload(data);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Copies <paramref name="source"/> (exactly <see cref="ElementCount"/> values) into the tensor.</summary>
    public unsafe void Upload(ReadOnlySpan<float> source)
    {
        RequireLength(source.Length, nameof(source));
        using var buffer = Lease();
        fixed (float* data = source)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_upload(buffer.Value, 0, data, (ulong)ByteCount));
        }
    }

    /// <summary>Copies the tensor into <paramref name="destination"/> (exactly <see cref="ElementCount"/> values).</summary>
    public unsafe void Download(Span<float> destination)
    {
        RequireLength(destination.Length, nameof(destination));
        using var buffer = Lease();
        fixed (float* data = destination)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_download(buffer.Value, 0, data, (ulong)ByteCount));
        }
    }

    /// <summary>Returns a new array holding the tensor's elements in row-major order.</summary>
    public float[] ToArray()
    {
        if (ElementCount > Array.MaxLength)
        {
            throw new InvalidOperationException($"The tensor has {ElementCount} elements, more than an array can hold.");
        }

        var result = new float[ElementCount];
        Download(result);
        return result;
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public void Fill(float value)
    {
        using var buffer = Lease();
        NativeStatus.Check(NativeMethods.fg_buffer_fill_f32(buffer.Value, 0, (ulong)ElementCount, value));
    }

    /// <summary>Copies all elements of <paramref name="source"/>, a tensor of the same context and element count.</summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ReferenceEquals(source, this))
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return;
        }

        if (source.ElementCount != ElementCount)
        {
            throw new ArgumentException(
                $"source has {source.ElementCount} elements {TensorShape.Format(source._shape)}, this tensor {ElementCount} {TensorShape.Format(_shape)}.",
                nameof(source));
        }

        if (!ReferenceEquals(source.Context, Context))
        {
            throw new ArgumentException("source belongs to another context.", nameof(source));
        }

        using var destination = Lease();
        using var from = source.Lease();
        NativeStatus.Check(NativeMethods.fg_buffer_copy(destination.Value, 0, from.Value, 0, (ulong)ByteCount));
    }

    /// <summary>Frees the native buffer. Calling it twice is harmless.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _buffer.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"Tensor{TensorShape.Format(_shape)} on {Context.Backend}{(IsDisposed ? " (disposed)" : string.Empty)}";

    internal HandleLease Lease()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return HandleLease.Of(_buffer);
    }

    private void RequireLength(int length, string parameterName)
    {
        if (length != ElementCount)
        {
            throw new ArgumentException(
                $"{parameterName} has {length} elements but the tensor {TensorShape.Format(_shape)} has {ElementCount}.",
                parameterName);
        }
    }
}
