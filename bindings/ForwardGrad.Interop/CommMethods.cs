using System.Runtime.InteropServices;

namespace ForwardGrad.Interop;

/// <summary>
/// One source-generated declaration per <c>fg_comm_</c> function of forwardgrad_comm.h (the MPI plug-in,
/// libforwardgrad_mpi), with the same names, parameter order and blittable types. Pass statuses to
/// <see cref="CommStatus.Check"/>, which reads the plug-in's own last error.
/// </summary>
internal static unsafe partial class CommMethods
{
    /// <summary>The library name the resolver maps to libforwardgrad_mpi.so.</summary>
    public const string LibraryName = "forwardgrad_mpi";

    /// <summary>FG_COMM_ABI_VERSION of the header these declarations follow.</summary>
    public const int AbiVersion = 1;

    /// <summary>FG_COMM_SUM.</summary>
    public const int Sum = 0;

    /// <summary>FG_COMM_MEAN.</summary>
    public const int Mean = 1;

    /// <summary>FG_COMM_FAST.</summary>
    public const int Fast = 0;

    /// <summary>FG_COMM_DETERMINISTIC.</summary>
    public const int Deterministic = 1;

    static CommMethods() => NativeLibraryResolver.Install();

    /// <summary>FG_COMM_ABI_VERSION of the loaded plug-in.</summary>
    [LibraryImport(LibraryName)]
    public static partial int fg_comm_abi_version();

    /// <summary>The plug-in's version: a static UTF-8 string.</summary>
    [LibraryImport(LibraryName)]
    public static partial nint fg_comm_version();

    /// <summary>The MPI library's version line: a static UTF-8 string.</summary>
    [LibraryImport(LibraryName)]
    public static partial nint fg_comm_mpi_version();

    /// <summary>Name of a status: a static UTF-8 string.</summary>
    [LibraryImport(LibraryName)]
    public static partial nint fg_comm_status_string(ForwardGradStatus status);

    /// <summary>This thread's last failure in the plug-in.</summary>
    [LibraryImport(LibraryName)]
    public static partial nint fg_comm_last_error();

    /// <summary>A communicator over MPI_COMM_WORLD (initialising MPI when needed).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_create_world(double timeoutSeconds, out nint comm);

    /// <summary>A sub-communicator of the ranks passing the same color.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_split(nint parent, int color, int key, out nint comm);

    /// <summary>Frees a communicator; accepts 0.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_free(nint comm);

    /// <summary>This process's rank.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_rank(nint comm, out int rank);

    /// <summary>The number of ranks.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_size(nint comm, out int size);

    /// <summary>Sets the time limit of every blocking call.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_set_timeout(nint comm, double timeoutSeconds);

    /// <summary>Calls, bytes and seconds so far (the caller sets Size).</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_stats_get(nint comm, ref FgCommStats stats);

    /// <summary>Zeroes the statistics.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_stats_reset(nint comm);

    /// <summary>In-place sum or mean of <paramref name="count"/> floats over the ranks.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_allreduce_f32(nint comm, float* data, ulong count, int op, int mode);

    /// <summary>Copies the root's bytes to every rank.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_broadcast(nint comm, void* data, ulong bytes, int root);

    /// <summary>Sends bytes to one rank.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_send(nint comm, void* data, ulong bytes, int destination, int tag);

    /// <summary>Receives bytes from one rank; the size must match.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_recv(nint comm, void* data, ulong bytes, int source, int tag);

    /// <summary>Waits until every rank arrives.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_barrier(nint comm);

    /// <summary>Ends every rank of the job with an exit code.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_abort(nint comm, int code);

    /// <summary>MPI_Finalize when the plug-in initialised MPI and no communicator is alive.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_finalize();

    /// <summary>Whether NCCL (libnccl.so.2) can be loaded, and why not.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_nccl_probe(out int available, byte* reason, int reasonCapacity);

    /// <summary>In-place sum or mean of device memory through NCCL.</summary>
    [LibraryImport(LibraryName)]
    public static partial ForwardGradStatus fg_comm_allreduce_device_f32(nint comm, void* deviceData, ulong count, int op, void* stream);
}

/// <summary>fg_comm_stats.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FgCommStats
{
    /// <summary>sizeof(fg_comm_stats).</summary>
    public uint Size;

    /// <summary>Communication calls.</summary>
    public ulong Calls;

    /// <summary>Payload bytes handed to MPI.</summary>
    public ulong BytesSent;

    /// <summary>Payload bytes received.</summary>
    public ulong BytesReceived;

    /// <summary>Wall time inside the calls.</summary>
    public double Seconds;

    /// <summary>A struct with Size set.</summary>
    public static unsafe FgCommStats Create() => new() { Size = (uint)sizeof(FgCommStats) };
}

/// <summary>Turns the plug-in's statuses into exceptions carrying its own last error.</summary>
internal static class CommStatus
{
    /// <summary>Returns on Ok; otherwise throws a <see cref="ForwardGradException"/> with <c>fg_comm_last_error</c>.</summary>
    public static void Check(ForwardGradStatus status)
    {
        if (status != ForwardGradStatus.Ok)
        {
            string detail = NativeText.FromPointer(CommMethods.fg_comm_last_error());
            string name = NativeText.FromPointer(CommMethods.fg_comm_status_string(status));
            throw new ForwardGradException(status, detail.Length == 0 ? name : $"{detail} ({name})");
        }
    }
}
