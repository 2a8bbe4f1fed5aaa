namespace ForwardGrad;

/// <summary>Options for creating a <see cref="Context"/>.</summary>
public sealed record ContextOptions
{
    /// <summary>BLAS and loop threads on the CPU backend; 0 lets the library choose.</summary>
    public int Threads { get; init; }

    /// <summary>Default seed for parameter initialisation and tangents.</summary>
    public ulong Seed { get; init; }

    /// <summary>The default options: library-chosen threads, seed 0.</summary>
    public static ContextOptions Default { get; } = new();
}
