namespace ForwardGrad.Parallel;

/// <summary>The values of <see cref="Training.TrainerOptions.Parallel"/> (<c>fgrad train --parallel</c>).</summary>
public static class ParallelModes
{
    /// <summary>One process.</summary>
    public const string None = "none";

    /// <summary>Data parallel: every rank trains on its shard of each global batch; the gradients are all-reduced.</summary>
    public const string Data = "data";

    /// <summary>The canonical (lower-case) name of <paramref name="mode"/>; anything unknown is an <see cref="ArgumentException"/>.</summary>
    public static string Parse(string? mode) => mode?.Trim().ToLowerInvariant() switch
    {
        None => None,
        Data => Data,
        _ => throw new ArgumentException($"Unknown parallel mode '{mode}' (--parallel); known: none, data (start the ranks with mpirun -np N)."),
    };
}
