using BenchmarkDotNet.Attributes;

namespace ForwardGrad.Benchmarks;

/// <summary>A CPU GEMM through the public C# API, at the size of a first MLP layer on MNIST.</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private Context? _context;
    private Tensor? _a;
    private Tensor? _b;
    private Tensor? _c;

    /// <summary>Rows of A and C (the batch).</summary>
    [Params(256)]
    public int M { get; set; }

    /// <summary>Inner dimension (the input width).</summary>
    [Params(784)]
    public int K { get; set; }

    /// <summary>Columns of B and C (the output width).</summary>
    [Params(512)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _context = Context.Cpu();
        var random = new Random(1);
        _a = Tensor.FromArray(_context, RandomValues(random, M * K), M, K);
        _b = Tensor.FromArray(_context, RandomValues(random, K * N), K, N);
        _c = Tensor.Zeros(_context, M, N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a?.Dispose();
        _b?.Dispose();
        _c?.Dispose();
        _context?.Dispose();
    }

    /// <summary>C = A B.</summary>
    [Benchmark]
    public void Gemm()
    {
        Ops.Gemm(_a!, _b!, _c!);
        _context!.Synchronize();
    }

    /// <summary>C = A B + 0.5 C: the same product, accumulating into C.</summary>
    [Benchmark]
    public void GemmAccumulate()
    {
        Ops.Gemm(_a!, _b!, _c!, beta: 0.5f);
        _context!.Synchronize();
    }

    private static float[] RandomValues(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return values;
    }
}
