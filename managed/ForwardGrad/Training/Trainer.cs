using System.Globalization;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Optim;
using ForwardGrad.Parallel;

namespace ForwardGrad.Training;

/// <summary>Live progress, reported after every training step.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Batch">1-based batch in the epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Step">Global steps done, this one included.</param>
/// <param name="Steps">Global step the run stops at (fewer than epochs x batches with max-steps).</param>
/// <param name="Loss">Running mean loss of the epoch.</param>
/// <param name="ImagesPerSecond">Throughput of the epoch so far.</param>
/// <param name="Eta">Estimated time to the end of the run.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, long Step, long Steps, double Loss, double ImagesPerSecond, TimeSpan Eta);

/// <summary>What a run did.</summary>
/// <param name="RunDirectory">Folder with config.json, metrics.csv, checkpoint.safetensors.</param>
/// <param name="Epochs">Metrics rows written by this invocation.</param>
/// <param name="FinalTestError">Test error of the run's last evaluation, percent (NaN if it has none).</param>
/// <param name="Steps">Global steps done.</param>
/// <param name="Failure">Why the run stopped early (divergence), or null.</param>
public sealed record TrainingResult(string RunDirectory, IReadOnlyList<EpochMetrics> Epochs, double FinalTestError, long Steps, string? Failure);

/// <summary>
/// Trains a LocalMixer into a run folder. The data order depends only on (seed, epoch) and the tangents only on
/// (seed, step), so a resumed run gives the same numbers as an uninterrupted one. The checkpoint is the run's one
/// commit point: it carries the metrics rows it covers, and metrics.csv is rewritten from them after it.
/// </summary>
public sealed class Trainer
{
    private readonly TrainerOptions _options;
    private readonly DatasetSplits _data;
    private readonly Context? _context;
    private readonly LocalMixer? _model;

    /// <summary>
    /// Creates a trainer for <paramref name="options"/> on <paramref name="data"/>. Pass <paramref name="context"/> to
    /// run in the caller's context, and <paramref name="model"/> to train the caller's model (its configuration then
    /// replaces <see cref="TrainerOptions.Model"/>, and its context is used). The trainer never disposes either.
    /// </summary>
    public Trainer(TrainerOptions options, DatasetSplits data, Context? context = null, LocalMixer? model = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _data = data ?? throw new ArgumentNullException(nameof(data));
        if (model is not null && context is not null && !ReferenceEquals(model.Context, context))
        {
            throw new ArgumentException("The model lives in another context than the one passed; pass the model's own context or none.", nameof(context));
        }

        _context = context ?? model?.Context;
        _model = model;
    }

    /// <summary>
    /// Raised on the training thread after each epoch, once its row is in metrics.csv and the checkpoint is saved
    /// (fgrad redraws curves.png here).
    /// </summary>
    public event Action<EpochMetrics>? EpochCompleted;

    /// <summary>The model configuration of a run: the preset or custom model adapted to the data set, seeded.</summary>
    public static LocalMixerConfig ModelConfig(TrainerOptions options, ImageDataset train)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        return ModelSpec.Resolve(options.Model).ForData(train.Height, train.Width, train.Channels, train.ClassCount) with
        {
            Seed = options.Seed,
            Loss = LocalLosses.Parse(options.Loss),
            PreLinearLayerNorm = options.PreLinearLayerNorm,
            InterLayerNorm = options.InterLayerNorm,
            FinalLayerNorm = options.FinalLayerNorm,
            Init = ParameterInits.Parse(options.Init),
        };
    }

    /// <summary>
    /// Creates a context for "cpu" or "cuda"; <paramref name="threads"/> &gt; 0 sets the CPU's thread count, at most
    /// <see cref="TrainerOptions.MaxThreads"/>; <paramref name="tf32"/> puts CUDA GEMMs on TF32 tensor cores.
    /// </summary>
    public static Context CreateContext(string device, int threads = 0, bool tf32 = false) => TrainerOptions.ParseDevice(device) switch
    {
        Backend.Cuda => Context.Cuda(options: new ContextOptions { Tf32 = tf32 }),
        _ => Context.Cpu(new ContextOptions { Threads = TrainerOptions.CapThreads(threads, out _) }),
    };

    /// <summary>Throws <see cref="InvalidDataException"/> when the training or the test set of <paramref name="data"/> has no images.</summary>
    public static void RequireImages(DatasetSplits data)
    {
        ArgumentNullException.ThrowIfNull(data);
        foreach (var (part, set) in new[] { ("training", data.Train), ("test", data.Test) })
        {
            if (set.Count == 0)
            {
                throw new InvalidDataException($"the {part} set of {data.Spec.Name} in {data.Folder} has no images; check the data files (or --data-dir).");
            }
        }
    }

    /// <summary>Test error (percent) of <paramref name="model"/> on <paramref name="data"/>; an empty set is an <see cref="InvalidDataException"/>.</summary>
    public static double Evaluate(LocalMixer model, ImageDataset data, ChannelStats normalization, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Evaluate(model, EvaluationLoader(data, normalization, batchSize));
    }

    /// <summary>A loader for <see cref="Evaluate(LocalMixer, BatchLoader)"/>: the set in order, normalised with <paramref name="normalization"/>.</summary>
    public static BatchLoader EvaluationLoader(ImageDataset data, ChannelStats normalization, int batchSize = 500) =>
        new(data, new BatchLoaderOptions { BatchSize = batchSize, Shuffle = false, Normalization = normalization, Prefetch = 1 });

    /// <summary>
    /// Test error (percent) of <paramref name="model"/> on the set of <paramref name="loader"/> (made by
    /// <see cref="EvaluationLoader"/>). A loader kept for every evaluation of a run reuses its batch buffers.
    /// </summary>
    public static double Evaluate(LocalMixer model, BatchLoader loader)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        ImageDataset data = loader.Data;
        if (data.Count == 0)
        {
            throw new InvalidDataException($"{data.Name} has no images to evaluate on.");
        }

        long wrong = 0;
        foreach (Batch batch in loader.Epoch(0))
        {
            int[] predicted = model.Predict(batch.Images, batch.Count);
            ReadOnlySpan<int> labels = batch.Labels;
            for (int i = 0; i < batch.Count; i++)
            {
                wrong += predicted[i] != labels[i] ? 1 : 0;
            }
        }

        return 100.0 * wrong / data.Count;
    }

    /// <summary>
    /// Runs (or, with <see cref="RunStart.Resume"/>, continues) training into <paramref name="runDirectory"/>. Every
    /// option is validated and the model built before the folder is touched; the folder is then locked for the run
    /// (see <see cref="RunFolder"/>). At the end of each epoch it evaluates, saves the checkpoint (with the metrics
    /// rows so far), rewrites metrics.csv and raises <see cref="EpochCompleted"/>.
    /// </summary>
    /// <param name="runDirectory">The run folder.</param>
    /// <param name="start">A new run, a resume of the run in the folder, or a new run replacing it.</param>
    /// <param name="log">Receives the run's text lines (one per epoch, plus a header and warnings).</param>
    /// <param name="progress">Receives a report after every step, on the training thread.</param>
    /// <exception cref="ArgumentException">An option is invalid, or a resume would change one that changes results.</exception>
    /// <exception cref="RunFolderException">The folder is in use, holds a run a new run would replace, or has nothing to resume.</exception>
    /// <exception cref="CheckpointException">The checkpoint to resume is corrupt, non-finite or does not fit the data.</exception>
    public TrainingResult Run(string runDirectory, RunStart start = RunStart.New, Action<string>? log = null, IProgress<TrainingProgress>? progress = null)
    {
        log ??= _ => { };
        TrainerOptions options = Prepare(log);
        RequireImages(_data);
        LocalMixerConfig config = _model?.Config ?? ModelConfig(options, _data.Train);
        var scheduleKind = LearningRateSchedule.ParseKind(options.Schedule);
        TrainingMethod method = TrainingMethods.Parse(options.Method);

        Context? ownContext = _context is null ? CreateContext(options.Device, options.Threads, options.Tf32) : null;
        LocalMixer? ownModel = null;
        try
        {
            Context context = _context ?? ownContext!;
            LocalMixer model = _model ?? (ownModel = new LocalMixer(context, config));
            using var optimizer = new Optimizer(model, new OptimizerSettings(OptimizerSettings.ParseKind(options.Optimizer), (float)options.Momentum, (float)options.WeightDecay));
            if (Communicator is not { } communicator)
            {
                using RunFolder folder = RunFolder.Take(runDirectory, start);
                var session = new TrainingSession(_data, options, folder, model, optimizer, method, scheduleKind, log, progress, EpochCompleted);
                return start == RunStart.Resume ? session.Resume() : session.Begin();
            }

            return RunParallel(communicator, runDirectory, start, options with { Ranks = communicator.Size }, model, optimizer, method, scheduleKind, log, progress);
        }
        finally
        {
            ownModel?.Dispose();
            ownContext?.Dispose();
        }
    }

    /// <summary>The contrastive views for the training set of <paramref name="data"/>; an <see cref="ArgumentException"/> naming the data set when it has none.</summary>
    internal static ContrastiveViews ViewsFor(DatasetSplits data)
    {
        try
        {
            return ContrastiveViews.ForImages(data.Train.Height, data.Train.Width, data.Train.Channels);
        }
        catch (ArgumentException error)
        {
            throw new ArgumentException($"--loss contrastive on {data.Spec.Name}: {error.Message}");
        }
    }

    /// <summary>
    /// Makes <see cref="Run"/> parallel over the ranks of this communicator, as <see cref="TrainerOptions.Parallel"/> says: every
    /// rank runs the same command on the same data; in data parallel each trains on its shard of each global batch and the
    /// gradients are summed in a deterministic all-reduce, in the block pipeline each owns a range of blocks and passes its
    /// activations on. Rank 0 alone takes the run folder, evaluates, saves and logs. Null (the default): one process.
    /// </summary>
    public Communicator? Communicator { get; init; }

    private TrainingResult RunParallel(Communicator communicator, string runDirectory, RunStart start, TrainerOptions options, LocalMixer model,
        Optimizer optimizer, TrainingMethod method, ScheduleKind scheduleKind, Action<string> log, IProgress<TrainingProgress>? progress)
    {
        bool pipeline = options.Parallel == ParallelModes.Pipeline;
        IParallelStep step = pipeline
            ? new PipelineStep(communicator, model, optimizer, method)
            : new DataParallelStep(communicator, model, method, options.Tangents);
        TrainingSession? session = null;
        try
        {
            using RunFolder? folder = communicator.IsRoot ? RunFolder.Take(runDirectory, start) : null;
            session = new TrainingSession(_data, options, folder, model, optimizer, method, scheduleKind, log, progress, EpochCompleted, step);
            TrainingResult result = start == RunStart.Resume ? session.Resume() : session.Begin();
            if (communicator.IsRoot)
            {
                log(step.Summary());
            }

            return result;
        }
        catch (Exception) when (communicator.IsRoot && session?.StateShared != true)
        {
            // The other ranks wait for rank 0's state: tell them the run will not start.
            RunStateBroadcast.SendFailure(communicator);
            throw;
        }
    }

    /// <summary>Validates and normalises the options; lowers an excessive thread count with a warning.</summary>
    private TrainerOptions Prepare(Action<string> log)
    {
        TrainerOptions options = _model is null ? _options : _options with { Model = _model.Config.Name };
        options.Validate(modelPreset: _model is null);
        options = options.Normalized().WithThreadCap(out string? note);
        if (note is not null)
        {
            log($"warning: {note}");
        }

        if (LocalLosses.Parse(options.Loss) == LocalLoss.Contrastive)
        {
            _ = ViewsFor(_data);  // a data set without a view recipe is refused before the run folder is touched
        }

        if (_model is not null && _model.Config.Loss != LocalLosses.Parse(options.Loss))
        {
            throw new ArgumentException($"The model's local losses are {_model.Config.Loss.Name()}, but --loss is {options.Loss}.");
        }

        if (_model is not null)
        {
            var fitted = _model.Config.ForData(_data.Train.Height, _data.Train.Width, _data.Train.Channels, _data.Train.ClassCount);
            if (fitted != _model.Config)
            {
                throw new ArgumentException(
                    $"The model takes {_model.Config.ImageHeight}x{_model.Config.ImageWidth}x{_model.Config.ImageChannels} images and {_model.Config.Classes} classes; {_data.Spec.Name} has {_data.Train.Height}x{_data.Train.Width}x{_data.Train.Channels} and {_data.Train.ClassCount}.");
            }
        }

        return options;
    }
}
