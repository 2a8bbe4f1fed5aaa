using BenchmarkDotNet.Attributes;
using ForwardGrad.Interop;
using ForwardGrad.Model;

namespace ForwardGrad.Benchmarks;

/// <summary>
/// What the C# API adds to an S/1/1 step (batch 100, K = 1): the same step through the raw
/// <c>fg_mixer_gradients</c> P/Invoke on buffers uploaded once (the baseline, what the native
/// <c>BM_MixerStep</c> times), with the batch upload the API does every step, and through
/// <see cref="LocalMixer"/> (upload, leases, options and stats marshalling). The raw calls run on the
/// LocalMixer's own context and model: two separate models on two contexts differ by up to 3 % per step
/// from memory placement alone, more than the overhead being measured. <see cref="BatchUpload"/> times
/// the upload alone: (Wrapper - Native) / Native is the overhead, BatchUpload / Native its main part,
/// measured without the step's noise.
/// </summary>
[MemoryDiagnoser]
public class StepOverheadBenchmarks
{
    private StepFixture? _fixture;
    private nint _context;
    private nint _model;
    private nint _images;
    private nint _labels;
    private FgStepOptions _options;
    private uint _step;

    /// <summary>The method of the step.</summary>
    [Params(TrainingMethod.LGFGA, TrainingMethod.BP)]
    public TrainingMethod Method { get; set; }

    [GlobalSetup]
    public unsafe void Setup()
    {
        _fixture = new StepFixture(LocalMixerConfig.S1_1);
        // The raw handles of the fixture's context and model; the fixture keeps both alive until Cleanup.
        using (var context = _fixture.Context.Lease())
        {
            _context = context.Value;
        }

        using (var model = _fixture.Model.Lease())
        {
            _model = model.Value;
        }

        NativeStatus.Check(NativeMethods.fg_buffer_alloc(_context, (ulong)(_fixture.Images.Length * sizeof(float)), out _images));
        NativeStatus.Check(NativeMethods.fg_buffer_alloc(_context, (ulong)(_fixture.Labels.Length * sizeof(int)), out _labels));
        BatchUpload();
        _options = FgStepOptions.Create((int)Method);
        _options.Tangents = 1;
        _options.Seed = 3;
        _options.HeadLearningRate = 1.0f;
        _options.LastLayerLearningRate = 0.1f;
        Native();
        Wrapper();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMethods.fg_buffer_free(_images);
        NativeMethods.fg_buffer_free(_labels);
        _fixture?.Dispose();
    }

    /// <summary>The raw P/Invoke on buffers that already hold the batch (as the native benchmark does).</summary>
    [Benchmark(Baseline = true)]
    public float Native()
    {
        var stats = FgStepStats.Create();
        _options.Step = _step++;
        NativeStatus.Check(NativeMethods.fg_mixer_gradients(_model, StepFixture.Batch, _images, _labels, in _options, ref stats));
        return stats.Loss;
    }

    /// <summary>The raw P/Invoke after uploading this step's batch, as the API must.</summary>
    [Benchmark]
    public float NativeWithUpload()
    {
        BatchUpload();
        return Native();
    }

    /// <summary>The same step through the C# API, the allocation-free overload.</summary>
    [Benchmark]
    public float Wrapper()
    {
        var f = _fixture!;
        var (loss, _, _) = f.Model.ComputeGradients(f.Images, f.Labels, Method, 1, 3, _step++, f.BlockLosses);
        return loss;
    }

    /// <summary>The overload that returns a <see cref="StepStats"/> record (allocates it and its block-loss array).</summary>
    [Benchmark]
    public float WrapperStats()
    {
        var f = _fixture!;
        return f.Model.ComputeGradients(f.Images, f.Labels, Method, 1, 3, _step++).Loss;
    }

    /// <summary>Only the upload of one batch of images and labels (the part of the API's cost that grows with the batch).</summary>
    [Benchmark]
    public unsafe void BatchUpload()
    {
        var f = _fixture!;
        fixed (float* images = f.Images)
        fixed (int* labels = f.Labels)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_upload(_images, 0, images, (ulong)(f.Images.Length * sizeof(float))));
            NativeStatus.Check(NativeMethods.fg_buffer_upload(_labels, 0, labels, (ulong)(f.Labels.Length * sizeof(int))));
        }
    }
}
