using BenchmarkDotNet.Attributes;
using ForwardGrad.Interop;

namespace ForwardGrad.Benchmarks;

/// <summary>The fixed cost of crossing into the native library: a bare call and a 1x1x1 GEMM.</summary>
[MemoryDiagnoser]
public class InteropOverheadBenchmarks
{
    private Context? _context;
    private Tensor? _a;
    private Tensor? _b;
    private Tensor? _c;

    [GlobalSetup]
    public void Setup()
    {
        _context = Context.Cpu();
        _a = Tensor.FromArray(_context, [2f], 1, 1);
        _b = Tensor.FromArray(_context, [3f], 1, 1);
        _c = Tensor.Zeros(_context, 1, 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a?.Dispose();
        _b?.Dispose();
        _c?.Dispose();
        _context?.Dispose();
    }

    /// <summary>The cheapest export: one P/Invoke, no arguments.</summary>
    [Benchmark(Baseline = true)]
    public int AbiVersion() => NativeMethods.fg_abi_version();

    /// <summary>A 1x1x1 GEMM through the C# API: shape checks, four handle leases, one P/Invoke.</summary>
    [Benchmark]
    public void TinyGemm() => Ops.Gemm(_a!, _b!, _c!);
}
