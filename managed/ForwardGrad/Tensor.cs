using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>
/// A row-major tensor of float32 (or, for class labels, int32) values held in a native buffer of one
/// <see cref="Context"/> (host memory on CPU, device memory on CUDA). Dispose it to free the buffer; any use
/// after that throws <see cref="ObjectDisposedException"/>. A tensor keeps its context's native state alive.
/// A <em>borrowed</em> tensor (<see cref="IsBorrowed"/>: a model's parameter or gradient) views a buffer its
/// owner frees: disposing it does nothing, and it becomes unusable when its owner is disposed.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly SafeHandle _buffer;
    private readonly long[] _shape;
    private int _disposed;

    private Tensor(Context context, ElementType elementType, ReadOnlySpan<long> shape, string shapeParameterName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ElementCount = TensorShape.ElementCount(shape, shapeParameterName);
        _shape = shape.ToArray();
        Shape = Array.AsReadOnly(_shape);
        ElementType = elementType;
        using (context.Lease())
        {
            _buffer = BufferHandle.Allocate(context.Handle, (ulong)ByteCount);
        }

        Context = context;
    }

    private Tensor(Context context, BorrowedBufferHandle buffer, long[] shape)
    {
        ElementCount = TensorShape.ElementCount(shape, nameof(shape));
        _shape = shape;
        Shape = Array.AsReadOnly(_shape);
        ElementType = ElementType.Float32;
        _buffer = buffer;
        Context = context;
        IsBorrowed = true;
    }

    /// <summary>The context that owns the tensor's buffer.</summary>
    public Context Context { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlyCollection<long> Shape { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>Float32, or int32 for class labels.</summary>
    public ElementType ElementType { get; }

    /// <summary>The size of the data in bytes (every element type has 4 bytes).</summary>
    public long ByteCount => ElementCount * sizeof(float);

    /// <summary>True when the buffer belongs to another object (a model's parameter or gradient), which frees it.</summary>
    public bool IsBorrowed { get; }

    /// <summary>True once the buffer can no longer be used: <see cref="Dispose"/> has run, or a borrowed tensor's owner is gone.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The native buffer, for a <see cref="HandleTable"/> or a <see cref="HandleLease"/>.</summary>
    internal SafeHandle Handle => _buffer;

    /// <summary>Creates a tensor with every element set to 0.</summary>
    public static Tensor Zeros(Context context, params ReadOnlySpan<long> shape) => Full(context, 0f, shape);

    /// <summary>Creates a tensor with every element set to <paramref name="value"/>.</summary>
    public static Tensor Full(Context context, float value, params ReadOnlySpan<long> shape)
    {
        var tensor = new Tensor(context, ElementType.Float32, shape, nameof(shape));
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
    public static Tensor FromArray(Context context, ReadOnlySpan<float> data, params ReadOnlySpan<long> shape) =>
        FromSpan(context, ElementType.Float32, data, shape);

    /// <summary>
    /// Creates an int32 tensor (class labels) holding a copy of <paramref name="data"/>; the shape works as for
    /// <see cref="FromArray"/>.
    /// </summary>
    public static Tensor FromInt32Array(Context context, ReadOnlySpan<int> data, params ReadOnlySpan<long> shape) =>
        FromSpan(context, ElementType.Int32, data, shape);

    /// <summary>Copies <paramref name="source"/> (exactly <see cref="ElementCount"/> values) into a float32 tensor.</summary>
    public void Upload(ReadOnlySpan<float> source)
    {
        RequireLength(source.Length, nameof(source));
        UploadPrefix(source);
    }

    /// <summary>Copies <paramref name="source"/> (exactly <see cref="ElementCount"/> values) into an int32 tensor.</summary>
    public void UploadInt32(ReadOnlySpan<int> source)
    {
        RequireLength(source.Length, nameof(source));
        UploadPrefix(source);
    }

    /// <summary>Copies a float32 tensor into <paramref name="destination"/> (exactly <see cref="ElementCount"/> values).</summary>
    public void Download(Span<float> destination)
    {
        RequireLength(destination.Length, nameof(destination));
        DownloadPrefix(destination);
    }

    /// <summary>Copies an int32 tensor into <paramref name="destination"/> (exactly <see cref="ElementCount"/> values).</summary>
    public void DownloadInt32(Span<int> destination)
    {
        RequireLength(destination.Length, nameof(destination));
        DownloadPrefix(destination);
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

    /// <summary>Sets every element of a float32 tensor to <paramref name="value"/>.</summary>
    public void Fill(float value)
    {
        RequireElementType(ElementType.Float32);
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

        source.RequireElementType(ElementType, nameof(source));
        using var destination = Lease();
        using var from = source.Lease();
        NativeStatus.Check(NativeMethods.fg_buffer_copy(destination.Value, 0, from.Value, 0, (ulong)ByteCount));
    }

    /// <summary>Frees the native buffer. Calling it twice is harmless; on a borrowed tensor it does nothing.</summary>
    public void Dispose()
    {
        if (!IsBorrowed)
        {
            Release();
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"Tensor{TensorShape.Format(_shape)}{(ElementType == ElementType.Int32 ? " int32" : string.Empty)} on {Context.Backend}{(IsDisposed ? " (disposed)" : string.Empty)}";

    /// <summary>
    /// A tensor viewing <paramref name="buffer"/>, which <paramref name="owner"/> owns and frees; throws when the
    /// native buffer is smaller than <paramref name="shape"/> says.
    /// </summary>
    internal static Tensor Borrow(Context context, SafeHandle owner, nint buffer, long[] shape)
    {
        var tensor = new Tensor(context, BorrowedBufferHandle.Of(owner, buffer), shape);
        try
        {
            using var lease = tensor.Lease();
            NativeStatus.Check(NativeMethods.fg_buffer_size(lease.Value, out ulong bytes));
            if (bytes < (ulong)tensor.ByteCount)
            {
                throw new InvalidOperationException(
                    $"The native buffer holds {bytes} bytes, but shape {TensorShape.Format(shape)} needs {tensor.ByteCount}: the library and its bindings disagree; rebuild both.");
            }

            return tensor;
        }
        catch
        {
            tensor.Release();
            throw;
        }
    }

    /// <summary>A tensor whose contents are whatever the native allocator left (the caller writes it before reading).</summary>
    internal static Tensor Uninitialized(Context context, ElementType elementType, params ReadOnlySpan<long> shape) =>
        new(context, elementType, shape, nameof(shape));

    /// <summary>Ends the tensor's use of its buffer: frees it, or for a borrowed tensor drops the reference on its owner.</summary>
    internal void Release()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _buffer.Dispose();
        }
    }

    internal HandleLease Lease()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return HandleLease.Of(_buffer);
    }

    /// <summary>Copies <paramref name="source"/> into the first <c>source.Length</c> elements.</summary>
    internal unsafe void UploadPrefix<T>(ReadOnlySpan<T> source)
        where T : unmanaged
    {
        RequireElementType(ElementTypeOf<T>());
        RequireAtMost(source.Length, nameof(source));
        using var buffer = Lease();
        fixed (T* data = source)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_upload(buffer.Value, 0, data, (ulong)source.Length * sizeof(float)));
        }
    }

    /// <summary>Copies the first <c>destination.Length</c> elements into <paramref name="destination"/>.</summary>
    internal unsafe void DownloadPrefix<T>(Span<T> destination)
        where T : unmanaged
    {
        RequireElementType(ElementTypeOf<T>());
        RequireAtMost(destination.Length, nameof(destination));
        using var buffer = Lease();
        fixed (T* data = destination)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_download(buffer.Value, 0, data, (ulong)destination.Length * sizeof(float)));
        }
    }

    /// <summary>Throws unless the tensor holds <paramref name="expected"/> elements.</summary>
    internal void RequireElementType(ElementType expected, string? parameterName = null)
    {
        if (ElementType != expected)
        {
            string what = parameterName is null ? "This operation" : parameterName;
            throw new ArgumentException(
                $"{what} needs a {expected} tensor, but {this} holds {ElementType}; create it with {(expected == ElementType.Int32 ? nameof(FromInt32Array) : nameof(FromArray))}.",
                parameterName);
        }
    }

    private static ElementType ElementTypeOf<T>()
        where T : unmanaged =>
        typeof(T) == typeof(int) ? ElementType.Int32 : typeof(T) == typeof(float) ? ElementType.Float32 : throw new NotSupportedException(typeof(T).Name);

    private static Tensor FromSpan<T>(Context context, ElementType elementType, ReadOnlySpan<T> data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        ReadOnlySpan<long> effective = shape.IsEmpty ? [data.Length] : shape;
        if (!shape.IsEmpty && TensorShape.ElementCount(shape, nameof(shape)) != data.Length)
        {
            throw new ArgumentException(
                $"Shape {TensorShape.Format(shape)} holds {TensorShape.ElementCount(shape, nameof(shape))} elements but data has {data.Length}.",
                nameof(data));
        }

        var tensor = new Tensor(context, elementType, effective, shape.IsEmpty ? nameof(data) : nameof(shape));
        try
        {
            tensor.UploadPrefix(data);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private void RequireAtMost(int length, string parameterName)
    {
        if (length > ElementCount)
        {
            throw new ArgumentException(
                $"{parameterName} has {length} elements but the tensor {TensorShape.Format(_shape)} has only {ElementCount}.",
                parameterName);
        }
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
