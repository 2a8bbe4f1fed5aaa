namespace ForwardGrad;

/// <summary>A native call failed; <see cref="Status"/> is its status and the message comes from <c>fg_last_error</c>.</summary>
public sealed class ForwardGradException : Exception
{
    /// <summary>Creates an exception for a failed native call.</summary>
    public ForwardGradException(ForwardGradStatus status, string message)
        : base(message)
    {
        Status = status;
    }

    /// <summary>Creates an exception that wraps another failure.</summary>
    public ForwardGradException(ForwardGradStatus status, string message, Exception innerException)
        : base(message, innerException)
    {
        Status = status;
    }

    /// <summary>The status the native library returned.</summary>
    public ForwardGradStatus Status { get; }
}
