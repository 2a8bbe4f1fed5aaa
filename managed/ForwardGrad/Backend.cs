using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>Where a <see cref="Context"/> runs its work.</summary>
public enum Backend
{
    /// <summary>Host memory, BLAS GEMMs and vectorised loops; the reference for every op.</summary>
    Cpu = NativeConstants.BackendCpu,

    /// <summary>Device memory, cuBLAS GEMMs and fused kernels, through the CUDA plug-in.</summary>
    Cuda = NativeConstants.BackendCuda,
}
