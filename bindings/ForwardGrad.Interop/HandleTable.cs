using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ForwardGrad.Interop;

/// <summary>
/// The raw values of a fixed list of handles, for native calls that take arrays of buffers
/// (<c>fg_optimizer_step</c>). The table holds one reference on every handle for its whole life, so a
/// single <see cref="HandleLease"/> on the table keeps them all valid: a call needs no per-handle
/// reference loop and allocates nothing.
/// </summary>
internal sealed class HandleTable : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly SafeHandle[] _handles;
    private readonly nint[] _values;
    private int _referenced;

    /// <summary>References every handle of <paramref name="handles"/> (in order) until the table is disposed.</summary>
    public HandleTable(IReadOnlyList<SafeHandle> handles)
        : base(ownsHandle: true)
    {
        ArgumentNullException.ThrowIfNull(handles);
        _handles = new SafeHandle[handles.Count];
        _values = new nint[handles.Count];
        try
        {
            for (; _referenced < handles.Count; _referenced++)
            {
                SafeHandle handle = handles[_referenced];
                bool added = false;
                handle.DangerousAddRef(ref added);
                _handles[_referenced] = handle;
                _values[_referenced] = handle.DangerousGetHandle();
            }
        }
        catch
        {
            ReleaseReferences();
            throw;
        }

        SetHandle(1); // valid: the table itself has nothing native to free
    }

    /// <summary>The raw handle values, in the order given; valid while a lease on the table is held.</summary>
    public ReadOnlySpan<nint> Values => _values;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        ReleaseReferences();
        return true;
    }

    private void ReleaseReferences()
    {
        for (int i = 0; i < _referenced; i++)
        {
            _handles[i].DangerousRelease();
        }

        _referenced = 0;
    }
}
