using Microsoft.Win32.SafeHandles;

namespace ForwardGrad.Interop;

/// <summary>
/// Owns one reference to a native <c>fg_context</c>. <c>Dispose</c> frees it
/// deterministically; the finalizer is only a guard. Buffers keep the context alive while they live.
/// </summary>
internal sealed class ContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>An invalid handle; use <see cref="Create"/>.</summary>
    public ContextHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>Creates a native context; throws <see cref="ForwardGradException"/> when the backend is unusable.</summary>
    public static ContextHandle Create(in FgContextOptions options)
    {
        var handle = new ContextHandle();
        NativeStatus.Check(NativeMethods.fg_context_create(in options, out nint context));
        handle.SetHandle(context);
        return handle;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle() => NativeMethods.fg_context_free(handle) == ForwardGradStatus.Ok;
}
