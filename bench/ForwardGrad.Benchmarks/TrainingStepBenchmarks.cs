using BenchmarkDotNet.Attributes;
using ForwardGrad.Interop;
using ForwardGrad.Model;

namespace ForwardGrad.Benchmarks;

/// <summary>One training-step case: a paper preset, a method and its number of tangents.</summary>
/// <param name="Config">The preset.</param>
/// <param name="Method">The training method.</param>
/// <param name="Tangents">K (1 for the backprop methods, which ignore it).</param>
public sealed record StepCase(LocalMixerConfig Config, TrainingMethod Method, int Tangents)
{
    /// <summary>The native benchmark's name of the same step, e.g. "BM_MixerStep/S1_1/LGFGA/K1/cpu".</summary>
    public string NativeName =>
        $"BM_MixerStep/{(Config.Name[..1] + Config.Name[2..]).Replace('/', '_')}/{Method}" + (Method.UsesTangents() ? $"/K{Tangents}" : "") + "/cpu";

    /// <summary>Shown in BenchmarkDotNet's table: "S/1/1 LG-FG-A K=1".</summary>
    public override string ToString() => $"{Config.Name} {Method.PaperName()}" + (Method.UsesTangents() ? $" K={Tangents}" : "");
}

/// <summary>Synthetic, normalised MNIST-shaped batches and a model, shared by the step benchmarks.</summary>
internal sealed class StepFixture : IDisposable
{
    public const int Batch = 100;

    public StepFixture(LocalMixerConfig config)
    {
        Context = Context.Cpu();
        Model = new LocalMixer(Context, config with { Seed = 1 });
        // Zero mean, unit variance per pixel (what per-channel normalisation gives), fixed seed.
        var random = new Random(1);
        Images = new float[Batch * Model.ImageSize];
        for (int i = 0; i < Images.Length; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            Images[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        Labels = new int[Batch];
        for (int i = 0; i < Batch; i++)
        {
            Labels[i] = i % 10;
        }

        BlockLosses = new float[NativeConstants.MaxBlocks];
    }

    public Context Context { get; }

    public LocalMixer Model { get; }

    public float[] Images { get; }

    public int[] Labels { get; }

    public float[] BlockLosses { get; }

    public void Dispose()
    {
        Model.Dispose();
        Context.Dispose();
    }
}

/// <summary>
/// The end-to-end gradient step of each method through the C# API (<see cref="LocalMixer.ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, TrainingMethod, int, ulong, uint, Span{float}, float, float, bool, int, int)"/>:
/// batch upload, handle leases, one P/Invoke, the stats copied back), batch 100, synthetic normalised
/// images, on the CPU. The same steps as the native <c>BM_MixerStep/&lt;config&gt;/&lt;method&gt;/K&lt;k&gt;/cpu</c>.
/// A steady-state step allocates nothing managed (the Allocated column is '-').
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private StepFixture? _fixture;
    private uint _step;

    /// <summary>S/1/1 and M/1/16: every method at K = 1, and LG-FG-A at K = 4.</summary>
    public static IEnumerable<StepCase> Cases()
    {
        foreach (LocalMixerConfig config in new[] { LocalMixerConfig.S1_1, LocalMixerConfig.M1_16 })
        {
            foreach (TrainingMethod method in TrainingMethods.ForwardGradientComparison)
            {
                yield return new StepCase(config, method, 1);
            }

            yield return new StepCase(config, TrainingMethod.LGFGA, 4);
        }
    }

    /// <summary>The case to run.</summary>
    [ParamsSource(nameof(Cases))]
    public StepCase Case { get; set; } = new(LocalMixerConfig.S1_1, TrainingMethod.LGFGA, 1);

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new StepFixture(Case.Config);
        Step(); // first touch of the native workspace
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture?.Dispose();

    /// <summary>One gradient step, the allocation-free overload.</summary>
    [Benchmark]
    public float Step()
    {
        var f = _fixture!;
        var (loss, _, _) = f.Model.ComputeGradients(f.Images, f.Labels, Case.Method, Case.Tangents, 3, _step++, f.BlockLosses);
        return loss;
    }
}
