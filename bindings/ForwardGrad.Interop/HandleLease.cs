using System.Runtime.InteropServices;

namespace ForwardGrad.Interop;

/// <summary>
/// Keeps a <see cref="SafeHandle"/> alive for the duration of a native call and exposes its raw value.
/// Use with <c>using</c>: <c>using var a = HandleLease.Of(tensorHandle);</c> then pass <c>a.Value</c>.
/// Leasing a closed handle throws <see cref="ObjectDisposedException"/>.
/// </summary>
internal ref struct HandleLease
{
    private SafeHandle? _handle;
    private bool _referenced;

    private HandleLease(SafeHandle handle)
    {
        handle.DangerousAddRef(ref _referenced);
        _handle = handle;
        Value = handle.DangerousGetHandle();
    }

    /// <summary>The raw handle value to pass to a native function (0 for an absent optional handle).</summary>
    public readonly nint Value { get; }

    /// <summary>Leases a handle that must be present.</summary>
    public static HandleLease Of(SafeHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return new HandleLease(handle);
    }

    /// <summary>Leases an optional handle; <see langword="null"/> gives a lease whose <see cref="Value"/> is 0.</summary>
    public static HandleLease OfOptional(SafeHandle? handle) => handle is null ? default : new HandleLease(handle);

    /// <summary>Releases the reference taken by the lease.</summary>
    public void Dispose()
    {
        if (_referenced)
        {
            _referenced = false;
            _handle!.DangerousRelease();
            _handle = null;
        }
    }
}
