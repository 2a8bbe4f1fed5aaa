using Microsoft.Win32.SafeHandles;

namespace ForwardGrad.Interop;

/// <summary>
/// Owns a native <c>fg_buffer</c>. It holds a reference on its <see cref="ContextHandle"/>
/// (DangerousAddRef) so the context outlives every buffer of it, whatever order they are disposed in.
/// </summary>
public sealed class BufferHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private ContextHandle? _context;

    /// <summary>An invalid handle; use <see cref="Allocate"/>.</summary>
    public BufferHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>The context this buffer belongs to (<see langword="null"/> for an invalid handle).</summary>
    public ContextHandle? Context => _context;

    /// <summary>Allocates <paramref name="bytes"/> bytes in <paramref name="context"/>.</summary>
    public static BufferHandle Allocate(ContextHandle context, ulong bytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        var handle = new BufferHandle();
        bool contextReferenced = false;
        try
        {
            context.DangerousAddRef(ref contextReferenced);
            NativeStatus.Check(NativeMethods.fg_buffer_alloc(context.DangerousGetHandle(), bytes, out nint buffer));
            handle._context = context;
            handle.SetHandle(buffer);
            contextReferenced = false; // the buffer now owns that reference
            return handle;
        }
        finally
        {
            if (contextReferenced)
            {
                context.DangerousRelease();
            }
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        ForwardGradStatus status = NativeMethods.fg_buffer_free(handle);
        _context?.DangerousRelease();
        _context = null;
        return status == ForwardGradStatus.Ok;
    }
}
