using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// A native LocalMixer model (the MLP-Mixer variant of the paper, with a local loss after every block) in one <see cref="ForwardGrad.Context"/>. It owns its
/// parameters and gradients; <see cref="Parameters"/> exposes them as borrowed tensors.
/// Images are (B, H, W, C) float32, already normalised; labels are int32.
/// </summary>
public sealed partial class LocalMixer : IDisposable
{
    private readonly NativeMixer _native;
    private readonly HandleTable _parameterTable;
    private Tensor? _images;
    private Tensor? _labels;
    private Tensor? _logits;
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
        _native = new NativeMixer(context, in native);
        var parameters = new List<ModelParameter>();
        try
        {
            (int tensors, ParameterCount) = _native.ParameterCount();
            for (int i = 0; i < tensors; i++)
            {
                FgParamInfo info = _native.ParameterInfo(i);
                long[] shape = info.ShapeArray();
                var (value, gradient) = _native.Parameter(context, i, shape);
                parameters.Add(new ModelParameter(i, info.NameString, shape, info.Elements, info.IsWeight != 0, info.Block, value, gradient));
            }

            // Values first, then gradients: the layout fg_optimizer_step reads (see ParameterTable).
            _parameterTable = new HandleTable([.. parameters.Select(p => p.Value.Handle), .. parameters.Select(p => p.Gradient.Handle)]);
        }
        catch
        {
            ReleaseParameters(parameters);
            _native.Dispose();
            throw;
        }

        Parameters = parameters;
        if (config.Init == ParameterInit.PyTorch)
        {
            try
            {
                ParameterInits.ApplyPyTorch(this, config.Seed);
            }
            catch
            {
                Dispose();
                throw;
            }
        }
    }

    /// <summary>The context the model lives in.</summary>
    public Context Context { get; }

    /// <summary>The architecture.</summary>
    public LocalMixerConfig Config { get; }

    /// <summary>The parameter tensors in native order.</summary>
    public IReadOnlyList<ModelParameter> Parameters { get; }

    /// <summary>Total number of parameter elements.</summary>
    public long ParameterCount { get; }

    /// <summary>
    /// The raw handles of every parameter value (first <c>Parameters.Count</c> entries) and then of every gradient,
    /// kept valid by one lease on the table: what an optimizer step passes to the native library.
    /// </summary>
    internal HandleTable ParameterTable => _parameterTable;

    /// <summary>Floats in one image.</summary>
    public int ImageSize => Config.ImageHeight * Config.ImageWidth * Config.ImageChannels;

    /// <summary>The parameter called <paramref name="name"/>.</summary>
    public ModelParameter Parameter(string name) =>
        Parameters.FirstOrDefault(p => p.Name == name) ?? throw new KeyNotFoundException($"The model has no parameter '{name}'.");

    /// <summary>
    /// The fixed random feedback matrices <paramref name="method"/> uses (empty for methods without feedback): drawn
    /// by the native model from the configuration's seed on first use and kept for its life. FA, L-FA and LG-FA share one
    /// list; DFA has its own.
    /// </summary>
    public IReadOnlyList<FeedbackMatrix> Feedback(TrainingMethod method)
    {
        int count = _native.FeedbackCount(method);
        var result = new List<FeedbackMatrix>(count);
        for (int i = 0; i < count; i++)
        {
            FgParamInfo info = _native.FeedbackInfo(method, i);
            long[] shape = info.ShapeArray();
            result.Add(new FeedbackMatrix(info.NameString, shape, info.Elements, _native.Feedback(Context, method, i, shape)));
        }

        return result;
    }

    /// <summary>Logits (batch x classes, row-major) of the final classifier.</summary>
    public float[] Forward(ReadOnlySpan<float> images, int batch)
    {
        UploadImages(images, batch);
        var logits = new float[batch * Config.Classes];
        _native.Forward(batch, _images!, _logits!);
        _logits!.DownloadPrefix<float>(logits);
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
    /// <param name="lastLayerLr">Scale of the final classifier's gradient, in every method (0.1 in the paper).</param>
    /// <param name="channelSlicesPerGroup">LG-FG-W only: slice the channel layer's weight-tangent estimate per group, as the
    /// official code does (biased, since an LN over all channels follows that layer), instead of scaling it by the sum over groups.</param>
    /// <returns>The final classifier's mean loss and accuracy on the batch, each block's local loss, and the workspace used.</returns>
    /// <exception cref="ForwardGradException">The shapes do not fit the model (status <see cref="ForwardGradStatus.InvalidArgument"/>),
    /// or memory ran out.</exception>
    /// <exception cref="ObjectDisposedException">The model or its context was disposed.</exception>
    public StepStats ComputeGradients(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, TrainingMethod method, int tangents,
        ulong seed, uint step, float headLr = 1.0f, float lastLayerLr = 0.1f, bool channelSlicesPerGroup = false)
    {
        Span<float> blocks = stackalloc float[NativeConstants.MaxBlocks];
        var (loss, accuracy, workspaceBytes) = ComputeGradients(images, labels, method, tangents, seed, step, blocks, headLr, lastLayerLr, channelSlicesPerGroup);
        return new StepStats(loss, accuracy, blocks[..Config.Blocks].ToArray(), workspaceBytes);
    }

    /// <summary>
    /// The step of <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, TrainingMethod, int, ulong, uint, float, float, bool)"/>
    /// (same parameters and contract) without managed allocations, for training loops that must not touch the GC: writes
    /// each block's local loss into the first min(<see cref="LocalMixerConfig.Blocks"/>, length) entries of
    /// <paramref name="blockLosses"/> (may be empty) and returns the final loss, the batch accuracy and the
    /// activation workspace the step needed. When the batch is images [<paramref name="globalFirst"/>, + batch) of a global batch
    /// of <paramref name="globalBatch"/> images (data parallel), FG-A and LG-FG-A draw each image's activity noise where the
    /// global batch draws it, so the shards' gradients, weighted by their share, add up to the global batch's.
    /// </summary>
    public (float Loss, float Accuracy, ulong WorkspaceBytes) ComputeGradients(ReadOnlySpan<float> images, ReadOnlySpan<int> labels,
        TrainingMethod method, int tangents, ulong seed, uint step, Span<float> blockLosses, float headLr = 1.0f, float lastLayerLr = 0.1f,
        bool channelSlicesPerGroup = false, int globalBatch = 0, int globalFirst = 0)
    {
        int batch = labels.Length;
        UploadBatch(images, labels);
        var options = StepOptions(method, tangents, seed, step, headLr, lastLayerLr, channelSlicesPerGroup);
        options.GlobalBatch = globalBatch;
        options.GlobalFirst = globalFirst;
        FgStepStats stats = _native.Gradients(batch, _images!, _labels!, in options);
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
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _native.WorkspaceBytes(method, tangents, batch);
    }

    /// <summary>
    /// Cosine similarity, per parameter, between the method's estimate and the exact gradient of its own
    /// objective on one batch. Leaves the gradient buffers holding the estimate. The parameters mean what they mean
    /// for <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, TrainingMethod, int, ulong, uint, float, float, bool)"/>.
    /// </summary>
    public float[] GradientCosine(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, TrainingMethod method, int tangents,
        ulong seed, uint step, float headLr = 1.0f, float lastLayerLr = 0.1f, bool channelSlicesPerGroup = false)
    {
        int batch = labels.Length;
        UploadBatch(images, labels);
        var options = StepOptions(method, tangents, seed, step, headLr, lastLayerLr, channelSlicesPerGroup);
        var result = new float[Parameters.Count];
        _native.GradientCosine(batch, _images!, _labels!, in options, result);
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
            DisposeStageBuffers();
            _parameterTable.Dispose();
            ReleaseParameters(Parameters);
            _native.Dispose();
        }
    }

    internal HandleLease Lease()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _native.Lease();
    }

    private static void ReleaseParameters(IEnumerable<ModelParameter> parameters)
    {
        foreach (ModelParameter parameter in parameters)
        {
            parameter.Value.Release();
            parameter.Gradient.Release();
        }
    }

    private static FgStepOptions StepOptions(TrainingMethod method, int tangents, ulong seed, uint step, float headLr, float lastLayerLr,
        bool channelSlicesPerGroup)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tangents, 1);
        var options = FgStepOptions.Create((int)method);
        options.Tangents = tangents;
        options.Seed = seed;
        options.Step = step;
        options.HeadLearningRate = headLr;
        options.LastLayerLearningRate = lastLayerLr;
        options.ChannelSlices = channelSlicesPerGroup ? NativeConstants.SlicesGroup : NativeConstants.SlicesSum;
        return options;
    }

    private void UploadBatch(ReadOnlySpan<float> images, ReadOnlySpan<int> labels)
    {
        UploadImages(images, labels.Length);
        _labels!.UploadPrefix(labels);
    }

    private void UploadImages(ReadOnlySpan<float> images, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (images.Length < (long)batch * ImageSize)
        {
            throw new ArgumentException($"{batch} images need {(long)batch * ImageSize} floats, got {images.Length}.", nameof(images));
        }

        EnsureCapacity(batch);
        _images!.UploadPrefix(images[..(batch * ImageSize)]);
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
        _images = _labels = _logits = null;
        _images = Tensor.Uninitialized(Context, ElementType.Float32, batch, Config.ImageHeight, Config.ImageWidth, Config.ImageChannels);
        _labels = Tensor.Uninitialized(Context, ElementType.Int32, batch);
        _logits = Tensor.Uninitialized(Context, ElementType.Float32, batch, Config.Classes);
        _capacity = batch;
    }
}
