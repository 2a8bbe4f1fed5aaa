using Microsoft.Win32.SafeHandles;

namespace ForwardGrad.Interop;

/// <summary>Owns a native <c>fg_comm</c>; <c>Dispose</c> frees it (the finalizer is only a guard).</summary>
internal sealed class CommHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>An invalid handle; use <see cref="World"/> or <see cref="Split"/>.</summary>
    public CommHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>A communicator over every rank of the job (MPI is initialised when needed).</summary>
    public static CommHandle World(double timeoutSeconds)
    {
        var handle = new CommHandle();
        CommStatus.Check(CommMethods.fg_comm_create_world(timeoutSeconds, out nint comm));
        handle.SetHandle(comm);
        return handle;
    }

    /// <summary>The sub-communicator of the ranks of <paramref name="parent"/> passing the same color.</summary>
    public static CommHandle Split(CommHandle parent, int color, int key)
    {
        var handle = new CommHandle();
        using var lease = HandleLease.Of(parent);
        CommStatus.Check(CommMethods.fg_comm_split(lease.Value, color, key, out nint comm));
        handle.SetHandle(comm);
        return handle;
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle() => CommMethods.fg_comm_free(handle) == ForwardGradStatus.Ok;
}
