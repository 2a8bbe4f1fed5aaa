using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>Queries about the backends the native library can use on this machine.</summary>
public static class Backends
{
    private const int ReasonCapacity = 4096;

    /// <summary>Asks the native library whether <paramref name="backend"/> is usable, and why not.</summary>
    /// <example><code>var (available, reason) = Backends.Probe(Backend.Cuda);</code></example>
    public static unsafe BackendAvailability Probe(Backend backend)
    {
        byte* reason = stackalloc byte[ReasonCapacity];
        reason[0] = 0;
        NativeStatus.Check(NativeMethods.fg_backend_probe((int)backend, out int available, reason, ReasonCapacity));
        return available != 0
            ? new BackendAvailability(true, string.Empty)
            : new BackendAvailability(false, NativeText.FromFixedBuffer(reason, ReasonCapacity));
    }

    /// <summary>The native library's version, e.g. "0.1.0".</summary>
    public static string LibraryVersion => NativeText.FromPointer(NativeMethods.fg_version());

    /// <summary>The ABI version the loaded native library reports.</summary>
    public static int LibraryAbiVersion => NativeMethods.fg_abi_version();

    /// <summary>The ABI version these bindings were built for.</summary>
    public static int BindingsAbiVersion => NativeConstants.AbiVersion;

    /// <summary>The file the native library was loaded from (after the first native call).</summary>
    public static string? LibraryPath => NativeLibraryResolver.LoadedPath;
}
