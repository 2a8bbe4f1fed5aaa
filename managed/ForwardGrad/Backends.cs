using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>Queries about the backends the native library can use on this machine.</summary>
public static class Backends
{
    private const int ReasonCapacity = 4096;

    /// <summary>Asks the native library whether <paramref name="backend"/> is usable, and why not.</summary>
    /// <example><code>var (available, reason) = Backends.Probe(Backend.Cuda);</code></example>
    public static unsafe BackendAvailability Probe(Backend backend)
    {
        byte* reason = stackalloc byte[ReasonCapacity];
        reason[0] = 0;
        NativeStatus.Check(NativeMethods.fg_backend_probe((int)backend, out int available, reason, ReasonCapacity));
        return available != 0
            ? new BackendAvailability(true, string.Empty)
            : new BackendAvailability(false, NativeText.FromFixedBuffer(reason, ReasonCapacity));
    }

    /// <summary>The native library's version, e.g. "0.1.0".</summary>
    public static string LibraryVersion => NativeText.FromPointer(NativeMethods.fg_version());

    /// <summary>The ABI version the loaded native library reports.</summary>
    public static int LibraryAbiVersion => NativeMethods.fg_abi_version();

    /// <summary>The ABI version these bindings were built for.</summary>
    public static int BindingsAbiVersion => NativeConstants.AbiVersion;

    /// <summary>
    /// The library that runs the CPU backend's GEMMs in this process (chosen on first use; <c>FG_GEMM_PROVIDER</c>
    /// picks one), the instruction set its kernels use, and any warning with its fix.
    /// </summary>
    public static unsafe GemmProviderInfo GemmProvider
    {
        get
        {
            var info = FgGemmProviderInfo.Create();
            NativeStatus.Check(NativeMethods.fg_gemm_provider_info_get(ref info));
            return new GemmProviderInfo(
                info.Loaded != 0,
                NativeText.FromFixedBuffer(info.Id, FgGemmProviderInfo.ShortCapacity),
                NativeText.FromFixedBuffer(info.Description, FgGemmProviderInfo.DescriptionCapacity),
                NativeText.FromFixedBuffer(info.KernelIsa, FgGemmProviderInfo.ShortCapacity),
                NativeText.FromFixedBuffer(info.CpuIsa, FgGemmProviderInfo.ShortCapacity),
                info.Threads,
                NativeText.FromFixedBuffer(info.Warning, FgGemmProviderInfo.MessageCapacity),
                NativeText.FromFixedBuffer(info.Error, FgGemmProviderInfo.MessageCapacity));
        }
    }

    /// <summary>The file the native library was loaded from (after the first native call).</summary>
    public static string? LibraryPath => NativeLibraryResolver.LoadedPath;
}

/// <summary>The CPU GEMM provider of the process (<see cref="Backends.GemmProvider"/>).</summary>
/// <param name="Loaded">Whether GEMMs run on it; when false, CPU contexts cannot be created (see <paramref name="Error"/>).</param>
/// <param name="Id">"openblas", "onednn" or "internal".</param>
/// <param name="Description">Library, version and kernels, e.g. "OpenBLAS 0.3.21, SkylakeX kernels (AVX-512)".</param>
/// <param name="KernelIsa">Instruction set of the kernels in use ("AVX-512", "AVX2", "SSE3", "C++", ...).</param>
/// <param name="CpuIsa">The best vector instruction set this CPU offers.</param>
/// <param name="Threads">The provider's thread count (process-wide).</param>
/// <param name="Warning">Empty, or a problem (e.g. generic kernels on a capable CPU) with its fix.</param>
/// <param name="Error">Empty, or why the provider asked for could not be loaded.</param>
public sealed record GemmProviderInfo(bool Loaded, string Id, string Description, string KernelIsa, string CpuIsa,
    int Threads, string Warning, string Error);

