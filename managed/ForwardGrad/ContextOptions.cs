namespace ForwardGrad;

/// <summary>Options for creating a <see cref="Context"/>.</summary>
public sealed record ContextOptions
{
    /// <summary>
    /// GEMM-provider and loop threads on the CPU backend; 0 lets the library choose. Both are process-wide
    /// settings: the last context created with a positive count sets the provider's threads for every
    /// context of the process. Results are bit-identical for any loop-thread count and agree to float32
    /// rounding across GEMM thread counts.
    /// </summary>
    public int Threads { get; init; }

    /// <summary>Default seed for parameter initialisation and tangents.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// CUDA only: run GEMMs on TF32 tensor cores (much faster on A100/H100, about 1e-3 relative error per
    /// product instead of FP32's 1e-7). Off by default, so results match the CPU reference.
    /// </summary>
    public bool Tf32 { get; init; }

    /// <summary>The default options: library-chosen threads, seed 0.</summary>
    public static ContextOptions Default { get; } = new();
}
