using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>
/// A native execution context: one backend (CPU or a CUDA device) with its own stream, BLAS handle and
/// workspace. Tensors belong to one context. Disposing the context releases the caller's reference;
/// tensors still alive keep it running until they are disposed too.
/// </summary>
public sealed class Context : IDisposable
{
    private readonly ContextHandle _handle;
    private int _disposed;

    private Context(Backend backend, int device, ContextOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Threads, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(device);
        var native = FgContextOptions.Create((int)backend, device, options.Threads, options.Seed, options.Tf32);
        _handle = ContextHandle.Create(in native);
        Backend = backend;
        Device = device;
        Options = options;
    }

    /// <summary>The backend this context runs on.</summary>
    public Backend Backend { get; }

    /// <summary>The CUDA device index (0 on CPU).</summary>
    public int Device { get; }

    /// <summary>The options the context was created with.</summary>
    public ContextOptions Options { get; }

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Bytes held by the context's live buffers and workspaces.</summary>
    public ulong LiveBytes
    {
        get
        {
            using var context = Lease();
            NativeStatus.Check(NativeMethods.fg_context_live_bytes(context.Value, out ulong bytes));
            return bytes;
        }
    }

    /// <summary>The context's backend, device, GEMM implementation and memory figures.</summary>
    public ContextInfo Info
    {
        get
        {
            using var context = Lease();
            var properties = FgContextProperties.Create();
            NativeStatus.Check(NativeMethods.fg_context_info(context.Value, ref properties));
            return new ContextInfo(
                (Backend)properties.Backend,
                properties.Device,
                properties.DeviceNameString,
                properties.GemmNameString,
                properties.CpuThreads,
                properties.Seed,
                properties.TotalMemory,
                properties.FreeMemory,
                properties.LiveBytes,
                properties.PeakBytes);
        }
    }

    internal ContextHandle Handle => _handle;

    /// <summary>Creates a CPU context.</summary>
    public static Context Cpu(ContextOptions? options = null) => new(Backend.Cpu, 0, options ?? ContextOptions.Default);

    /// <summary>
    /// Creates a context on CUDA device <paramref name="device"/>. Throws <see cref="ForwardGradException"/>
    /// naming the reason when there is no plug-in, driver or device.
    /// </summary>
    public static Context Cuda(int device = 0, ContextOptions? options = null) => new(Backend.Cuda, device, options ?? ContextOptions.Default);

    /// <summary>Creates a context of the given backend (device is used by CUDA only).</summary>
    public static Context Create(Backend backend, int device = 0, ContextOptions? options = null) =>
        new(backend, device, options ?? ContextOptions.Default);

    /// <summary>Waits until all work queued on the context has finished (no-op on CPU).</summary>
    public void Synchronize()
    {
        using var context = Lease();
        NativeStatus.Check(NativeMethods.fg_context_synchronize(context.Value));
    }

    /// <summary>Releases the caller's reference to the native context. Calling it twice is harmless.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _handle.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => IsDisposed ? $"Context({Backend}, disposed)" : $"Context({Backend}, device {Device})";

    internal HandleLease Lease()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return HandleLease.Of(_handle);
    }
}
