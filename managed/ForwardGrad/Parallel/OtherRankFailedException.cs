namespace ForwardGrad.Parallel;

/// <summary>
/// Thrown on the ranks of a parallel run that are fine when another rank could not start it (rank 0: a folder in use, a
/// bad checkpoint, a refused option; any rank: data it cannot load). That rank reports the reason itself, so the others
/// only stop.
/// </summary>
public sealed class OtherRankFailedException : Exception
{
    /// <summary>Creates the exception for <paramref name="rank"/>.</summary>
    public OtherRankFailedException(int rank)
        : base($"rank {rank}: another rank stopped the run before training; its output says why.")
    {
    }
}
