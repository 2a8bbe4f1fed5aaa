namespace ForwardGrad.Cli.Commands;

/// <summary>Lets a step's progress through to the live bar at most once per interval, and the last step always.</summary>
internal sealed class ProgressGate(long intervalMilliseconds)
{
    private long _next;  // the tick count from which the next step passes; 0: the first one does

    /// <summary>Whether the step reported at <paramref name="nowMilliseconds"/> updates the bar.</summary>
    public bool Admit(long nowMilliseconds, bool last)
    {
        if (!last && nowMilliseconds < _next)
        {
            return false;
        }

        _next = nowMilliseconds + intervalMilliseconds;
        return true;
    }
}
