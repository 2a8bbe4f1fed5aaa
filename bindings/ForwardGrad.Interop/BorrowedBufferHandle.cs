using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ForwardGrad.Interop;

/// <summary>
/// A buffer owned by another native object (a model's parameter or gradient). It never frees the buffer;
/// it holds a reference on its owner's handle so the owner, and with it the buffer, outlives every native
/// call made through this handle, whatever order they are disposed in.
/// </summary>
internal sealed class BorrowedBufferHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private SafeHandle? _owner;

    private BorrowedBufferHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>Wraps <paramref name="buffer"/>, a buffer that <paramref name="owner"/> owns and frees.</summary>
    public static BorrowedBufferHandle Of(SafeHandle owner, nint buffer)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var handle = new BorrowedBufferHandle();
        bool referenced = false;
        owner.DangerousAddRef(ref referenced);
        handle._owner = owner;
        handle.SetHandle(buffer);
        return handle;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        _owner?.DangerousRelease();
        _owner = null;
        return true;
    }
}
