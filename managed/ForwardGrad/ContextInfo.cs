namespace ForwardGrad;

/// <summary>What a <see cref="Context"/> reports about itself.</summary>
/// <param name="Backend">The backend the context runs on.</param>
/// <param name="Device">The CUDA device index (0 on CPU).</param>
/// <param name="DeviceName">The CPU or GPU name.</param>
/// <param name="GemmName">The GEMM implementation, e.g. "OpenBLAS 0.3.21, SkylakeX kernels (AVX-512, from CPUID)" or "cuBLAS 11.8".</param>
/// <param name="Threads">The CPU threads the context was created with (0 = library default); the GEMM provider's count is process-wide.</param>
/// <param name="Seed">The context's default seed.</param>
/// <param name="TotalMemory">Bytes of device memory (CUDA) or physical memory (CPU).</param>
/// <param name="FreeMemory">Free bytes of that memory.</param>
/// <param name="LiveBytes">Bytes held by the context's live buffers and workspaces.</param>
/// <param name="PeakBytes">The highest <paramref name="LiveBytes"/> seen.</param>
public sealed record ContextInfo(
    Backend Backend,
    int Device,
    string DeviceName,
    string GemmName,
    int Threads,
    ulong Seed,
    ulong TotalMemory,
    ulong FreeMemory,
    ulong LiveBytes,
    ulong PeakBytes);
