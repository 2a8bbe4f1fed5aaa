using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// A native LocalMixer model (the MLP-Mixer variant of the paper, with a local loss after every block) in one <see cref="ForwardGrad.Context"/>. It owns its
/// parameters and gradients; <see cref="Parameters"/> exposes them as borrowed buffers.
/// Images are (B, H, W, C) float32, already normalised; labels are int32.
/// </summary>
public sealed partial class LocalMixer : IDisposable
{
    private readonly MixerHandle _handle;
    private BufferHandle? _images;
    private BufferHandle? _labels;
    private BufferHandle? _logits;
    private long _capacity;
    private int _disposed;

    /// <summary>Creates the model for <paramref name="config"/> in <paramref name="context"/>.</summary>
    public LocalMixer(Context context, LocalMixerConfig config)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Context = context;
        Config = config;
        var native = config.ToNative();
        using (context.Lease())
        {
            _handle = MixerHandle.Create(context.Handle, in native);
        }

        using var model = HandleLease.Of(_handle);
        NativeStatus.Check(NativeMethods.fg_mixer_param_count(model.Value, out int tensors, out long elements));
        ParameterCount = elements;
        var parameters = new List<ModelParameter>(tensors);
        for (int i = 0; i < tensors; i++)
        {
            var info = FgParamInfo.Create();
            NativeStatus.Check(NativeMethods.fg_mixer_param_info(model.Value, i, ref info));
            NativeStatus.Check(NativeMethods.fg_mixer_param(model.Value, i, out nint value, out nint gradient));
            var shape = new long[info.Rank];
            for (int d = 0; d < info.Rank; d++)
            {
                unsafe
                {
                    shape[d] = info.Shape[d];
                }
            }

            parameters.Add(new ModelParameter(this, i, info.NameString, shape, info.Elements, info.IsWeight != 0, info.Block, value, gradient));
        }

        Parameters = parameters;
    }

    /// <summary>The context the model lives in.</summary>
    public Context Context { get; }

    /// <summary>The architecture.</summary>
    public LocalMixerConfig Config { get; }

    /// <summary>The parameter tensors in native order.</summary>
    public IReadOnlyList<ModelParameter> Parameters { get; }

    /// <summary>Total number of parameter elements.</summary>
    public long ParameterCount { get; }

    /// <summary>Floats in one image.</summary>
    public int ImageSize => Config.ImageHeight * Config.ImageWidth * Config.ImageChannels;

    /// <summary>The parameter called <paramref name="name"/>.</summary>
    public ModelParameter Parameter(string name) =>
        Parameters.FirstOrDefault(p => p.Name == name) ?? throw new KeyNotFoundException($"The model has no parameter '{name}'.");

    /// <summary>Logits (batch x classes, row-major) of the final classifier.</summary>
    public unsafe float[] Forward(ReadOnlySpan<float> images, int batch)
    {
        UploadImages(images, batch);
        var logits = new float[batch * Config.Classes];
        using var model = Lease();
        using var input = HandleLease.Of(_images!);
        using var output = HandleLease.Of(_logits!);
        NativeStatus.Check(NativeMethods.fg_mixer_forward(model.Value, batch, input.Value, output.Value));
        fixed (float* data = logits)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_download(output.Value, 0, data, (ulong)(logits.Length * sizeof(float))));
        }

        return logits;
    }

    /// <summary>Predicted class of each image.</summary>
    public int[] Predict(ReadOnlySpan<float> images, int batch)
    {
        float[] logits = Forward(images, batch);
        int classes = Config.Classes;
        var result = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> row = logits.AsSpan(b * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            result[b] = best;
        }

        return result;
    }

    /// <summary>
    /// Fills every gradient buffer for one step of <paramref name="method"/> and reports the losses; an
    /// <see cref="Optim.Optimizer"/> then applies the gradients. The parameters are not changed here.
    /// </summary>
    /// <param name="images">The batch: <c>labels.Length</c> images of <see cref="ImageSize"/> float32 values each,
    /// laid out (H, W, C) with channels interleaved, already normalised (a <see cref="Data.BatchLoader"/> does both).</param>
    /// <param name="labels">Class indices in [0, <see cref="LocalMixerConfig.Classes"/>), one per image; their count is the batch size.</param>
    /// <param name="method">The estimator: a backprop baseline or a forward-gradient method.</param>
    /// <param name="tangents">K, the random tangents averaged by the forward-gradient methods (at least 1; the backprop methods ignore it).</param>
    /// <param name="seed">With <paramref name="step"/>, the only input of the tangents' random generator.</param>
    /// <param name="step">Which tangents this step uses. The tangents are a pure function of (<paramref name="seed"/>,
    /// <paramref name="step"/>): the caller passes a new value on every call (usually the global step count, as the
    /// trainer does), and the same pair gives the same tangents again, which is what makes a resumed run exact.</param>
    /// <param name="headLr">Scale of the gradients of the blocks' local-loss heads (1 in the paper).</param>
    /// <param name="lastLayerLr">Scale of the final classifier's gradient in the local methods (0.1 in the paper).</param>
    /// <returns>The final classifier's mean loss and accuracy on the batch, each block's local loss, and the workspace used.</returns>
    /// <exception cref="ForwardGradException">The shapes do not fit the model (status <see cref="ForwardGradStatus.InvalidArgument"/>),
    /// or memory ran out.</exception>
    /// <exception cref="ObjectDisposedException">The model or its context was disposed.</exception>
    public StepStats ComputeGradients(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, TrainingMethod method, int tangents,
        ulong seed, uint step, float headLr = 1.0f, float lastLayerLr = 0.1f)
    {
        Span<float> blocks = stackalloc float[NativeConstants.MaxBlocks];
        var (loss, accuracy, workspaceBytes) = ComputeGradients(images, labels, method, tangents, seed, step, blocks, headLr, lastLayerLr);
        return new StepStats(loss, accuracy, blocks[..Config.Blocks].ToArray(), workspaceBytes);
    }

    /// <summary>
    /// The step of <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, TrainingMethod, int, ulong, uint, float, float)"/>
    /// (same parameters and contract) without managed allocations, for training loops that must not touch the GC: writes
    /// each block's local loss into the first min(<see cref="LocalMixerConfig.Blocks"/>, length) entries of
    /// <paramref name="blockLosses"/> (may be empty) and returns the final loss, the batch accuracy and the
    /// activation workspace the step needed.
    /// </summary>
    public (float Loss, float Accuracy, ulong WorkspaceBytes) ComputeGradients(ReadOnlySpan<float> images, ReadOnlySpan<int> labels,
        TrainingMethod method, int tangents, ulong seed, uint step, Span<float> blockLosses, float headLr = 1.0f, float lastLayerLr = 0.1f)
    {
        int batch = labels.Length;
        UploadBatch(images, labels);
        var options = StepOptions(method, tangents, seed, step, headLr, lastLayerLr);
        var stats = FgStepStats.Create();
        using var model = Lease();
        using var input = HandleLease.Of(_images!);
        using var target = HandleLease.Of(_labels!);
        NativeStatus.Check(NativeMethods.fg_mixer_gradients(model.Value, batch, input.Value, target.Value, in options, ref stats));
        int blocks = Math.Min(Math.Min(stats.Blocks, NativeConstants.MaxBlocks), blockLosses.Length);
        for (int i = 0; i < blocks; i++)
        {
            unsafe
            {
                blockLosses[i] = stats.BlockLoss[i];
            }
        }

        return (stats.Loss, stats.Accuracy, stats.WorkspaceBytes);
    }

    /// <summary>Activation workspace bytes a step of <paramref name="method"/> needs at <paramref name="batch"/>.</summary>
    public ulong WorkspaceBytes(TrainingMethod method, int tangents, long batch)
    {
        using var model = Lease();
        NativeStatus.Check(NativeMethods.fg_mixer_workspace_bytes(model.Value, (int)method, tangents, batch, out ulong bytes));
        return bytes;
    }

    /// <summary>
    /// Cosine similarity, per parameter, between the method's estimate and the exact gradient of its own
    /// objective on one batch. Leaves the gradient buffers holding the estimate. The parameters mean what they mean
    /// for <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, TrainingMethod, int, ulong, uint, float, float)"/>.
    /// </summary>
    public unsafe float[] GradientCosine(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, TrainingMethod method, int tangents,
        ulong seed, uint step, float headLr = 1.0f, float lastLayerLr = 0.1f)
    {
        int batch = labels.Length;
        UploadBatch(images, labels);
        var options = StepOptions(method, tangents, seed, step, headLr, lastLayerLr);
        var result = new float[Parameters.Count];
        using var model = Lease();
        using var input = HandleLease.Of(_images!);
        using var target = HandleLease.Of(_labels!);
        fixed (float* cosine = result)
        {
            NativeStatus.Check(NativeMethods.fg_mixer_gradient_cosine(model.Value, batch, input.Value, target.Value, in options, cosine, result.Length));
        }

        return result;
    }

    /// <summary>Frees the model and its parameters. Calling it twice is harmless.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _images?.Dispose();
            _labels?.Dispose();
            _logits?.Dispose();
            _handle.Dispose();
        }
    }

    internal HandleLease Lease()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return HandleLease.Of(_handle);
    }

    private static FgStepOptions StepOptions(TrainingMethod method, int tangents, ulong seed, uint step, float headLr, float lastLayerLr)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tangents, 1);
        var options = FgStepOptions.Create((int)method);
        options.Tangents = tangents;
        options.Seed = seed;
        options.Step = step;
        options.HeadLearningRate = headLr;
        options.LastLayerLearningRate = lastLayerLr;
        return options;
    }

    private unsafe void UploadBatch(ReadOnlySpan<float> images, ReadOnlySpan<int> labels)
    {
        UploadImages(images, labels.Length);
        using var target = HandleLease.Of(_labels!);
        fixed (int* data = labels)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_upload(target.Value, 0, data, (ulong)(labels.Length * sizeof(int))));
        }
    }

    private unsafe void UploadImages(ReadOnlySpan<float> images, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (images.Length < (long)batch * ImageSize)
        {
            throw new ArgumentException($"{batch} images need {(long)batch * ImageSize} floats, got {images.Length}.", nameof(images));
        }

        EnsureCapacity(batch);
        using var input = HandleLease.Of(_images!);
        fixed (float* data = images)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_upload(input.Value, 0, data, (ulong)((long)batch * ImageSize * sizeof(float))));
        }
    }

    private void EnsureCapacity(long batch)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (batch <= _capacity)
        {
            return;
        }

        _images?.Dispose();
        _labels?.Dispose();
        _logits?.Dispose();
        using (Context.Lease())
        {
            _images = BufferHandle.Allocate(Context.Handle, (ulong)(batch * ImageSize * sizeof(float)));
            _labels = BufferHandle.Allocate(Context.Handle, (ulong)(batch * sizeof(int)));
            _logits = BufferHandle.Allocate(Context.Handle, (ulong)(batch * Config.Classes * sizeof(float)));
        }

        _capacity = batch;
    }
}
