using Microsoft.Win32.SafeHandles;

namespace ForwardGrad.Interop;

/// <summary>
/// A native object that lives in a context (a buffer, a model). It holds a reference on its
/// <see cref="ContextHandle"/> (DangerousAddRef) so the context outlives it, whatever order they are
/// disposed in.
/// </summary>
internal abstract class ContextBoundHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private ContextHandle? _context;

    /// <summary>An invalid handle.</summary>
    protected ContextBoundHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>The context this object belongs to (<see langword="null"/> for an invalid handle).</summary>
    public ContextHandle? Context => _context;

    /// <summary>
    /// Creates the native object with <paramref name="create"/> (given the raw context, it returns the raw
    /// handle or throws) and binds <paramref name="handle"/> to it and to a reference on <paramref name="context"/>.
    /// </summary>
    protected static T Bind<T>(T handle, ContextHandle context, Func<nint, nint> create)
        where T : ContextBoundHandle
    {
        ArgumentNullException.ThrowIfNull(context);
        bool contextReferenced = false;
        try
        {
            context.DangerousAddRef(ref contextReferenced);
            nint native = create(context.DangerousGetHandle());
            handle._context = context;
            handle.SetHandle(native);
            contextReferenced = false; // the handle now owns that reference
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

    /// <summary>Frees the native object (the fg_*_free function).</summary>
    protected abstract ForwardGradStatus Free(nint native);

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        ForwardGradStatus status = Free(handle);
        _context?.DangerousRelease();
        _context = null;
        return status == ForwardGradStatus.Ok;
    }
}
