using System.Runtime.InteropServices;
using ForwardGrad.Interop;

namespace ForwardGrad.Parallel;

/// <summary>How an all-reduce adds the ranks' buffers.</summary>
public enum ReduceMode
{
    /// <summary>MPI's own algorithm: fastest, but its summation order (and so the last bits) may vary.</summary>
    Fast = 0,

    /// <summary>
    /// Rank 0 adds the buffers in rank order (in double, rounded once) and broadcasts the result: the same bits on every
    /// rank and in every run with the same inputs.
    /// </summary>
    Deterministic = 1,
}

/// <summary>What a communicator has moved since it was created or reset.</summary>
/// <param name="Calls">Communication calls.</param>
/// <param name="BytesSent">Payload bytes this rank handed to MPI.</param>
/// <param name="BytesReceived">Payload bytes this rank received.</param>
/// <param name="Time">Wall time inside the calls, waiting for slower ranks included.</param>
public sealed record CommunicationStats(long Calls, long BytesSent, long BytesReceived, TimeSpan Time);

/// <summary>
/// A group of processes (ranks) that exchange data over MPI, through the libforwardgrad_mpi plug-in. Start the
/// processes with <c>mpirun -np N</c> (or Slurm's <c>srun</c>); a process started alone is a world of one rank.
/// Every blocking call has a time limit (<see cref="Timeout"/>): a dead or stuck peer becomes a
/// <see cref="ForwardGradException"/> whose status is <see cref="ForwardGradStatus.CommTimeout"/> or
/// <see cref="ForwardGradStatus.CommPeer"/> and whose message names the rank, never a silent hang. After such a failure the
/// communicator refuses every call; report the error and end the job with <see cref="Abort"/>. Ranks that pass
/// different element counts get <see cref="ForwardGradStatus.CommMismatch"/>. Calls are serialised: one thread at a time.
/// </summary>
public sealed class Communicator : IDisposable
{
    private readonly CommHandle _handle;
    private readonly Lock _gate = new();
    private TimeSpan _timeout;

    private Communicator(CommHandle handle, TimeSpan timeout)
    {
        _handle = handle;
        _timeout = timeout;
        using var lease = HandleLease.Of(handle);
        CommStatus.Check(CommMethods.fg_comm_rank(lease.Value, out int rank));
        CommStatus.Check(CommMethods.fg_comm_size(lease.Value, out int size));
        Rank = rank;
        Size = size;
    }

    /// <summary>The time limit when none is given: 120 s, or FG_COMM_TIMEOUT_S (seconds) when set.</summary>
    public static TimeSpan DefaultTimeout =>
        double.TryParse(Environment.GetEnvironmentVariable("FG_COMM_TIMEOUT_S"), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromSeconds(120);

    /// <summary>Whether a launcher (mpirun, mpiexec, srun with PMI/PMIx) started this process as one rank of a job.</summary>
    public static bool LaunchedAsRank =>
        new[] { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS" }.Any(name => Environment.GetEnvironmentVariable(name) is not null);

    /// <summary>The MPI library's version line, e.g. "Open MPI v4.1.4"; loads the plug-in.</summary>
    public static string MpiVersion => NativeText.FromPointer(CommMethods.fg_comm_mpi_version());

    /// <summary>This process's rank, 0 .. <see cref="Size"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>Number of ranks.</summary>
    public int Size { get; }

    /// <summary>Whether this is rank 0, the one that writes files and prints in a training run.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>The time limit of every blocking call; a peer that does not take part within it is reported.</summary>
    public TimeSpan Timeout
    {
        get => _timeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            lock (_gate)
            {
                using var lease = HandleLease.Of(_handle);
                CommStatus.Check(CommMethods.fg_comm_set_timeout(lease.Value, value.TotalSeconds));
                _timeout = value;
            }
        }
    }

    /// <summary>What this communicator has moved so far.</summary>
    public CommunicationStats Stats
    {
        get
        {
            var stats = FgCommStats.Create();
            lock (_gate)
            {
                using var lease = HandleLease.Of(_handle);
                CommStatus.Check(CommMethods.fg_comm_stats_get(lease.Value, ref stats));
            }

            return new CommunicationStats((long)stats.Calls, (long)stats.BytesSent, (long)stats.BytesReceived, TimeSpan.FromSeconds(stats.Seconds));
        }
    }

    /// <summary>
    /// The communicator of every rank of the job, initialising MPI when nothing has. Throws
    /// <see cref="DllNotFoundException"/> with the fix when the MPI plug-in or MPI itself is not installed.
    /// </summary>
    /// <param name="timeout">Time limit of every blocking call (null: <see cref="DefaultTimeout"/>).</param>
    public static Communicator World(TimeSpan? timeout = null)
    {
        TimeSpan limit = timeout ?? DefaultTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit, TimeSpan.Zero, nameof(timeout));
        return new Communicator(CommHandle.World(limit.TotalSeconds), limit);
    }

    /// <summary>Whether NCCL (for CUDA buffers) can be loaded here; <paramref name="reason"/> says which version, or why not.</summary>
    public static unsafe bool NcclAvailable(out string reason)
    {
        byte* text = stackalloc byte[512];
        CommStatus.Check(CommMethods.fg_comm_nccl_probe(out int available, text, 512));
        reason = NativeText.FromPointer((nint)text);
        return available != 0;
    }

    /// <summary>
    /// Ends MPI in this process (MPI_Finalize) once every communicator is disposed; launchers such as mpirun treat a rank
    /// that exits without it as failed. MPI cannot start again in the same process afterwards.
    /// </summary>
    public static void Shutdown() => CommStatus.Check(CommMethods.fg_comm_finalize());

    /// <summary>
    /// The sub-communicator of the ranks that pass the same <paramref name="color"/> (&gt;= 0), ranked by
    /// <paramref name="key"/> then by rank here. Every rank of this communicator must call it.
    /// </summary>
    public Communicator Split(int color, int key)
    {
        lock (_gate)
        {
            return new Communicator(CommHandle.Split(_handle, color, key), _timeout);
        }
    }

    /// <summary>In place: every rank's <paramref name="data"/> becomes the element-wise sum over the ranks.</summary>
    public void AllReduceSum(Span<float> data, ReduceMode mode = ReduceMode.Deterministic) => AllReduce(data, CommMethods.Sum, mode);

    /// <summary>In place: every rank's <paramref name="data"/> becomes the element-wise mean over the ranks.</summary>
    public void AllReduceMean(Span<float> data, ReduceMode mode = ReduceMode.Deterministic) => AllReduce(data, CommMethods.Mean, mode);

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="data"/> to every rank (all must pass the same length).</summary>
    public unsafe void Broadcast<T>(Span<T> data, int root = 0)
        where T : unmanaged
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(data);
        lock (_gate)
        {
            using var lease = HandleLease.Of(_handle);
            fixed (byte* pointer = bytes)
            {
                CommStatus.Check(CommMethods.fg_comm_broadcast(lease.Value, pointer, (ulong)bytes.Length, root));
            }
        }
    }

    /// <summary>Sends <paramref name="data"/> to rank <paramref name="destination"/> with <paramref name="tag"/> (0 .. 29999).</summary>
    public unsafe void Send<T>(ReadOnlySpan<T> data, int destination, int tag = 0)
        where T : unmanaged
    {
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(data);
        lock (_gate)
        {
            using var lease = HandleLease.Of(_handle);
            fixed (byte* pointer = bytes)
            {
                CommStatus.Check(CommMethods.fg_comm_send(lease.Value, pointer, (ulong)bytes.Length, destination, tag));
            }
        }
    }

    /// <summary>
    /// Receives exactly <paramref name="data"/>'s length from rank <paramref name="source"/> with <paramref name="tag"/>;
    /// a message of another size is a <see cref="ForwardGradStatus.CommMismatch"/>.
    /// </summary>
    public unsafe void Receive<T>(Span<T> data, int source, int tag = 0)
        where T : unmanaged
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(data);
        lock (_gate)
        {
            using var lease = HandleLease.Of(_handle);
            fixed (byte* pointer = bytes)
            {
                CommStatus.Check(CommMethods.fg_comm_recv(lease.Value, pointer, (ulong)bytes.Length, source, tag));
            }
        }
    }

    /// <summary>Returns once every rank has called it (within the time limit).</summary>
    public void Barrier()
    {
        lock (_gate)
        {
            using var lease = HandleLease.Of(_handle);
            CommStatus.Check(CommMethods.fg_comm_barrier(lease.Value));
        }
    }

    /// <summary>Zeroes <see cref="Stats"/>.</summary>
    public void ResetStats()
    {
        lock (_gate)
        {
            using var lease = HandleLease.Of(_handle);
            CommStatus.Check(CommMethods.fg_comm_stats_reset(lease.Value));
        }
    }

    /// <summary>Ends every rank of the job with <paramref name="exitCode"/> (MPI_Abort); for a rank that cannot go on.</summary>
    public void Abort(int exitCode)
    {
        using var lease = HandleLease.Of(_handle);
        CommStatus.Check(CommMethods.fg_comm_abort(lease.Value, exitCode));
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

    private unsafe void AllReduce(Span<float> data, int op, ReduceMode mode)
    {
        lock (_gate)
        {
            using var lease = HandleLease.Of(_handle);
            fixed (float* pointer = data)
            {
                CommStatus.Check(CommMethods.fg_comm_allreduce_f32(lease.Value, pointer, (ulong)data.Length, op, (int)mode));
            }
        }
    }
}
