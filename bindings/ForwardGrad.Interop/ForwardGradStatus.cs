namespace ForwardGrad;

/// <summary>Status codes returned by every <c>fg_</c> function (<c>fg_status</c> in forwardgrad.h).</summary>
public enum ForwardGradStatus
{
    /// <summary>FG_OK: the call succeeded.</summary>
    Ok = 0,

    /// <summary>FG_ERR_INVALID_ARGUMENT: null, shapes that do not fit, or a buffer of another context.</summary>
    InvalidArgument = 1,

    /// <summary>FG_ERR_OUT_OF_MEMORY: a host or device allocation failed.</summary>
    OutOfMemory = 2,

    /// <summary>FG_ERR_UNSUPPORTED: the backend or feature is not built or not loadable here.</summary>
    Unsupported = 3,

    /// <summary>FG_ERR_NO_DEVICE: no CUDA driver, or no device with that index.</summary>
    NoDevice = 4,

    /// <summary>FG_ERR_BACKEND: a BLAS, CUDA or cuBLAS call failed.</summary>
    Backend = 5,

    /// <summary>FG_ERR_INTERNAL: a bug in the native library.</summary>
    Internal = 6,

    /// <summary>FG_ERR_COMM_TIMEOUT (forwardgrad_comm.h): a peer rank did not take part before the time limit.</summary>
    CommTimeout = 100,

    /// <summary>FG_ERR_COMM_PEER (forwardgrad_comm.h): MPI reported a failure, such as a lost connection to a dead process.</summary>
    CommPeer = 101,

    /// <summary>FG_ERR_COMM_MISMATCH (forwardgrad_comm.h): the ranks passed different element counts, or a message had another size.</summary>
    CommMismatch = 102,
}
