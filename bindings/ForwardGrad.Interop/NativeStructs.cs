using System.Runtime.InteropServices;
using System.Text;

namespace ForwardGrad.Interop;

/// <summary><c>fg_context_options</c>: how to create a context.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FgContextOptions
{
    /// <summary>sizeof(fg_context_options); <see cref="Create"/> sets it.</summary>
    public uint Size;

    /// <summary>FG_BACKEND_CPU or FG_BACKEND_CUDA.</summary>
    public int Backend;

    /// <summary>CUDA device index; ignored on CPU.</summary>
    public int Device;

    /// <summary>BLAS / loop threads on CPU; 0 = library default.</summary>
    public int CpuThreads;

    /// <summary>Default seed for parameter initialisation and tangents.</summary>
    public ulong Seed;

    /// <summary>CUDA: 1 = GEMMs on TF32 tensor cores, 0 = FP32 (the default); ignored on CPU.</summary>
    public int GemmTf32;

    /// <summary>Options with <see cref="Size"/> filled in.</summary>
    public static unsafe FgContextOptions Create(int backend, int device, int cpuThreads, ulong seed, bool gemmTf32 = false) => new()
    {
        Size = (uint)sizeof(FgContextOptions),
        Backend = backend,
        Device = device,
        CpuThreads = cpuThreads,
        Seed = seed,
        GemmTf32 = gemmTf32 ? 1 : 0,
    };
}

/// <summary><c>fg_context_properties</c>: what a context reports about itself.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FgContextProperties
{
    /// <summary>Capacity of <see cref="DeviceName"/> and <see cref="GemmName"/> in bytes.</summary>
    public const int NameCapacity = 128;

    /// <summary>sizeof(fg_context_properties), set by the caller (<see cref="Create"/>).</summary>
    public uint Size;

    /// <summary>FG_BACKEND_CPU or FG_BACKEND_CUDA.</summary>
    public int Backend;

    /// <summary>CUDA device index (0 on CPU).</summary>
    public int Device;

    /// <summary>CPU threads the context was created with.</summary>
    public int CpuThreads;

    /// <summary>The context's default seed.</summary>
    public ulong Seed;

    /// <summary>Bytes: device memory on CUDA, physical memory on CPU.</summary>
    public ulong TotalMemory;

    /// <summary>Free bytes of the same memory.</summary>
    public ulong FreeMemory;

    /// <summary>Bytes held by this context's live buffers and workspaces.</summary>
    public ulong LiveBytes;

    /// <summary>Highest <see cref="LiveBytes"/> seen.</summary>
    public ulong PeakBytes;

    /// <summary>NUL-terminated UTF-8 device name.</summary>
    public fixed byte DeviceName[NameCapacity];

    /// <summary>NUL-terminated UTF-8 name of the GEMM implementation.</summary>
    public fixed byte GemmName[NameCapacity];

    /// <summary>An empty record with <see cref="Size"/> filled in, ready for <c>fg_context_info</c>.</summary>
    public static FgContextProperties Create() => new() { Size = (uint)sizeof(FgContextProperties) };

    /// <summary><see cref="DeviceName"/> as a string.</summary>
    public readonly string DeviceNameString
    {
        get
        {
            fixed (byte* name = DeviceName)
            {
                return NativeText.FromFixedBuffer(name, NameCapacity);
            }
        }
    }

    /// <summary><see cref="GemmName"/> as a string.</summary>
    public readonly string GemmNameString
    {
        get
        {
            fixed (byte* name = GemmName)
            {
                return NativeText.FromFixedBuffer(name, NameCapacity);
            }
        }
    }
}

/// <summary><c>fg_gemm_provider_info</c>: the library that runs the CPU backend's GEMMs.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FgGemmProviderInfo
{
    /// <summary>Capacity of <see cref="Id"/>, <see cref="KernelIsa"/> and <see cref="CpuIsa"/> in bytes.</summary>
    public const int ShortCapacity = 16;

    /// <summary>Capacity of <see cref="Description"/> in bytes.</summary>
    public const int DescriptionCapacity = 128;

    /// <summary>Capacity of <see cref="Warning"/> and <see cref="Error"/> in bytes.</summary>
    public const int MessageCapacity = 512;

    /// <summary>sizeof(fg_gemm_provider_info), set by the caller (<see cref="Create"/>).</summary>
    public uint Size;

    /// <summary>1 when GEMMs run on the provider; 0 when it could not be loaded (see <see cref="Error"/>).</summary>
    public int Loaded;

    /// <summary>The provider's current thread count (process-wide).</summary>
    public int Threads;

    /// <summary>"openblas", "onednn" or "internal".</summary>
    public fixed byte Id[ShortCapacity];

    /// <summary>e.g. "OpenBLAS 0.3.21, SkylakeX kernels (AVX-512)".</summary>
    public fixed byte Description[DescriptionCapacity];

    /// <summary>Instruction set of the kernels in use.</summary>
    public fixed byte KernelIsa[ShortCapacity];

    /// <summary>The best vector instruction set of this CPU.</summary>
    public fixed byte CpuIsa[ShortCapacity];

    /// <summary>Empty, or a problem with its fix.</summary>
    public fixed byte Warning[MessageCapacity];

    /// <summary>Empty, or why the provider asked for could not be loaded.</summary>
    public fixed byte Error[MessageCapacity];

    /// <summary>An empty record with <see cref="Size"/> filled in, ready for <c>fg_gemm_provider_info_get</c>.</summary>
    public static FgGemmProviderInfo Create() => new() { Size = (uint)sizeof(FgGemmProviderInfo) };
}

/// <summary><c>fg_optimizer_params</c>: hyper-parameters of one optimizer step.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FgOptimizerParams
{
    /// <summary>sizeof(fg_optimizer_params); <see cref="Create"/> sets it.</summary>
    public uint Size;

    /// <summary>FG_OPT_SGD or FG_OPT_ADAMW.</summary>
    public int Kind;

    /// <summary>Learning rate.</summary>
    public float LearningRate;

    /// <summary>SGD momentum.</summary>
    public float Momentum;

    /// <summary>Weight decay.</summary>
    public float WeightDecay;

    /// <summary>SGD: 1 = decoupled decay, 0 = L2 added to the gradient. AdamW: always decoupled.</summary>
    public int Decoupled;

    /// <summary>AdamW first-moment decay.</summary>
    public float Beta1;

    /// <summary>AdamW second-moment decay.</summary>
    public float Beta2;

    /// <summary>AdamW epsilon.</summary>
    public float Epsilon;

    /// <summary>1-based step count, for Adam's bias correction.</summary>
    public long Step;

    /// <summary>Parameters of the given kind with <see cref="Size"/> filled in.</summary>
    public static unsafe FgOptimizerParams Create(int kind) => new()
    {
        Size = (uint)sizeof(FgOptimizerParams),
        Kind = kind,
    };
}

/// <summary>Conversions of library-owned C strings.</summary>
internal static class NativeText
{
    /// <summary>Reads a NUL-terminated UTF-8 string owned by the library ("" for NULL).</summary>
    public static string FromPointer(nint text) => text == 0 ? string.Empty : Marshal.PtrToStringUTF8(text) ?? string.Empty;

    /// <summary>Reads a NUL-terminated UTF-8 string from a fixed-capacity buffer.</summary>
    public static unsafe string FromFixedBuffer(byte* buffer, int capacity)
    {
        var bytes = new ReadOnlySpan<byte>(buffer, capacity);
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
