namespace ForwardGrad.Interop;

/// <summary>Turns native status codes into exceptions.</summary>
internal static class NativeStatus
{
    /// <summary>
    /// Returns when <paramref name="status"/> is <see cref="ForwardGradStatus.Ok"/>; otherwise throws a
    /// <see cref="ForwardGradException"/> carrying the status and this thread's <c>fg_last_error</c> message.
    /// Call it on the thread that made the failing call, before any other native call.
    /// </summary>
    public static void Check(ForwardGradStatus status)
    {
        if (status != ForwardGradStatus.Ok)
        {
            Throw(status);
        }
    }

    /// <summary>The library's name for a status, e.g. "FG_ERR_INVALID_ARGUMENT".</summary>
    public static string Name(ForwardGradStatus status) => NativeText.FromPointer(NativeMethods.fg_status_string(status));

    private static void Throw(ForwardGradStatus status)
    {
        string detail = NativeText.FromPointer(NativeMethods.fg_last_error());
        string name = Name(status);
        string message = detail.Length == 0 ? name : $"{detail} ({name})";
        throw new ForwardGradException(status, message);
    }
}
