using System.Diagnostics;
using System.Globalization;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.IO;
using ForwardGrad.Model;
using ForwardGrad.Optim;

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
/// <param name="RunDirectory">Folder with config.json, metrics.csv, curves.png, checkpoint.safetensors.</param>
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

    /// <summary>The model configuration of a run: the preset adapted to the data set, seeded.</summary>
    public static LocalMixerConfig ModelConfig(TrainerOptions options, ImageDataset train)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        return LocalMixerConfig.Preset(options.Model).ForData(train.Height, train.Width, train.Channels, train.ClassCount) with { Seed = options.Seed };
    }

    /// <summary>Creates a context for "cpu" or "cuda"; <paramref name="threads"/> &gt; 0 sets the CPU's thread count.</summary>
    public static Context CreateContext(string device, int threads = 0) => TrainerOptions.ParseDevice(device) switch
    {
        Backend.Cuda => Context.Cuda(),
        _ => Context.Cpu(new ContextOptions { Threads = threads }),
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
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
        {
            throw new InvalidDataException($"{data.Name} has no images to evaluate on.");
        }

        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = batchSize, Shuffle = false, Normalization = normalization, Prefetch = 1 });
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
    /// rows so far), rewrites metrics.csv and redraws curves.png.
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

        Context? ownContext = _context is null ? CreateContext(options.Device, options.Threads) : null;
        LocalMixer? ownModel = null;
        try
        {
            Context context = _context ?? ownContext!;
            LocalMixer model = _model ?? (ownModel = new LocalMixer(context, config));
            using var optimizer = new Optimizer(model, new OptimizerSettings(OptimizerSettings.ParseKind(options.Optimizer), (float)options.Momentum, (float)options.WeightDecay));
            using RunFolder folder = RunFolder.Take(runDirectory, start);
            var session = new Session(this, options, folder, model, optimizer, method, scheduleKind, log, progress);
            return start == RunStart.Resume ? session.Resume() : session.Begin();
        }
        finally
        {
            ownModel?.Dispose();
            ownContext?.Dispose();
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

    /// <summary>One invocation's training in a taken folder.</summary>
    private sealed class Session(
        Trainer trainer, TrainerOptions options, RunFolder folder, LocalMixer model, Optimizer optimizer,
        TrainingMethod method, ScheduleKind scheduleKind, Action<string> log, IProgress<TrainingProgress>? progress)
    {
        private readonly DatasetSplits _data = trainer._data;
        private readonly List<EpochMetrics> _history = [];
        private readonly string _metricsPath = Path.Combine(folder.Path, MetricsFile.FileName);
        private long _step;
        private long _savedStep = -1;
        private double _lossSum;
        private double _correctSum;
        private long _seen;
        private double _elapsedBefore;

        public TrainingResult Begin()
        {
            RunConfig.Write(folder.Path, options, RunConfig.Machine.Of(model.Context), _data);
            MetricsFile.Write(_metricsPath, _history);
            return Train();
        }

        public TrainingResult Resume()
        {
            TrainerOptions recorded = RunConfig.Read(folder.Path).Normalized();
            ResumeOverrides.Check(recorded, options, folder.Path);
            // No checkpoint yet: the run stopped before its first epoch ended and starts again from step 0.
            Checkpoint? checkpoint = File.Exists(folder.CheckpointPath) ? Checkpoint.Load(folder.CheckpointPath) : null;
            if (checkpoint is not null)
            {
                checkpoint.RequireInputOf(_data.Train, _data.Spec.Name);
                checkpoint.ApplyTo(model, optimizer);
                _step = _savedStep = checkpoint.Step;
                _lossSum = checkpoint.GetDouble("epoch_loss_sum");
                _correctSum = checkpoint.GetDouble("epoch_correct_sum");
                _seen = checkpoint.GetLong("epoch_seen");
                _elapsedBefore = checkpoint.GetDouble("elapsed_s");
                _history.AddRange(checkpoint.Metadata.TryGetValue("metrics", out string? rows) ? MetricsFile.Parse(rows) : []);
            }

            // The checkpoint is the commit point: metrics.csv may lag it (a kill between the two), never lead it.
            MetricsFile.Write(_metricsPath, _history);
            RunConfig.RecordResume(folder.Path, recorded, options, _step, RunConfig.Machine.Of(model.Context), _data);
            log(checkpoint is null ? $"{folder.CheckpointPath} does not exist yet: starting from step 0" : $"resumed from {checkpoint.Path} at step {_step}");
            return Train();
        }

        private TrainingResult Train()
        {
            var loader = new BatchLoader(_data.Train, new BatchLoaderOptions
            {
                BatchSize = options.BatchSize,
                Shuffle = true,
                Seed = unchecked((int)options.Seed),
                Normalization = _data.Normalization,
            });
            int batches = loader.BatchesPerEpoch;
            long totalSteps = (long)options.Epochs * batches;
            long stopAt = Math.Min(totalSteps, options.MaxSteps ?? long.MaxValue);
            double lastTestError = _history.Count > 0 ? _history[^1].TestError : double.NaN;
            if (_step >= stopAt)
            {
                log(string.Create(CultureInfo.InvariantCulture,
                    $"nothing to train: the run is at step {_step} and stops at step {stopAt} ({options.Epochs} epochs x {batches} batches{(options.MaxSteps is long m ? $", --max-steps {m}" : "")}); pass a larger --epochs to extend it."));
                return new TrainingResult(folder.Path, [], lastTestError, _step, null);
            }

            var schedule = new LearningRateSchedule(scheduleKind, options.LearningRate, totalSteps, (long)Math.Round(options.WarmupEpochs * batches));
            double explodeLimit = Math.Max(50, 20 * Math.Log(model.Config.Classes));
            string curvesTitle = $"{method.PaperName()} {model.Config.Name} on {_data.Spec.Name}";
            log($"{method.PaperName()} {model.Config.Name} ({model.ParameterCount:N0} parameters) on {_data.Spec.Name}: {_data.Train.Count} train / {_data.Test.Count} test images, " +
                $"{options.Epochs} epochs x {batches} batches of {options.BatchSize}, K={options.Tangents}, {options.Optimizer} lr {options.LearningRate} {options.Schedule} warmup {options.WarmupEpochs} ep, {model.Context.Backend.ToString().ToLowerInvariant()}");

            var rows = new List<EpochMetrics>();
            var clock = Stopwatch.StartNew();
            double lr = schedule.At(Math.Max(0, _step - 1));
            float[] blockLosses = new float[model.Config.Blocks];
            while (_step < stopAt)
            {
                int epoch = (int)(_step / batches);
                int skip = (int)(_step - (long)epoch * batches);
                if (skip == 0)
                {
                    _lossSum = _correctSum = 0;
                    _seen = 0;
                }

                var epochClock = Stopwatch.StartNew();
                long epochImages = 0;
                foreach (Batch batch in loader.Epoch(epoch))
                {
                    if (batch.Index < skip)
                    {
                        continue;
                    }

                    // The allocation-free overload: a steady-state step allocates no managed memory.
                    var stats = model.ComputeGradients(batch.Images, batch.Labels, method, options.Tangents, options.Seed, unchecked((uint)_step),
                        blockLosses, (float)options.HeadLr, (float)options.LastLayerLr);
                    if (!float.IsFinite(stats.Loss) || stats.Loss > explodeLimit || !AllFinite(blockLosses))
                    {
                        return new TrainingResult(folder.Path, rows, lastTestError, _step, DivergenceMessage(epoch, stats.Loss));
                    }

                    lr = schedule.At(_step);
                    optimizer.Step((float)lr);
                    _step++;
                    _lossSum += (double)stats.Loss * batch.Count;
                    _correctSum += Math.Round((double)stats.Accuracy * batch.Count);
                    _seen += batch.Count;
                    epochImages += batch.Count;
                    FaultInjection.Reached(FaultInjection.AfterStep);
                    if (progress is not null)
                    {
                        double rate = epochImages / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
                        long remaining = stopAt - _step;
                        progress.Report(new TrainingProgress(epoch + 1, options.Epochs, batch.Index + 1, batches, _step, stopAt, _lossSum / _seen, rate,
                            TimeSpan.FromSeconds(remaining * (double)options.BatchSize / Math.Max(1e-9, rate))));
                    }

                    if (_step >= stopAt)
                    {
                        break;
                    }
                }

                bool epochDone = _step == (long)(epoch + 1) * batches;
                lastTestError = Evaluate(model, _data.Test, _data.Normalization, options.EvalBatchSize);
                var row = new EpochMetrics(epoch + 1, _step, _lossSum / _seen, 100.0 * (1 - (_correctSum / _seen)),
                    lastTestError, epochImages / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds), _elapsedBefore + clock.Elapsed.TotalSeconds, lr);
                rows.Add(row);
                _history.Add(row);
                Commit(epoch, epochDone, row.ElapsedSeconds);
                DrawCurves(curvesTitle);
                log(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {row.Epoch}/{options.Epochs}{(epochDone ? "" : " (partial)")}: train loss {row.TrainLoss:F4}, train error {row.TrainError:F2}%, test error {row.TestError:F2}%, {row.ImagesPerSecond:F0} images/s, {row.ElapsedSeconds:F1} s"));
            }

            return new TrainingResult(folder.Path, rows, lastTestError, _step, null);
        }

        /// <summary>Saves the checkpoint with every row so far (the commit point), then metrics.csv from the same rows.</summary>
        private void Commit(int epoch, bool epochDone, double elapsed)
        {
            FaultInjection.Reached(FaultInjection.BeforeCheckpoint);
            var extra = new Dictionary<string, string>
            {
                ["epoch"] = Text(epochDone ? epoch + 1 : epoch),
                ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
                ["dataset"] = _data.Spec.Name,
                ["epoch_loss_sum"] = epochDone ? "0" : Text(_lossSum),
                ["epoch_correct_sum"] = epochDone ? "0" : Text(_correctSum),
                ["epoch_seen"] = epochDone ? "0" : Text(_seen),
                ["elapsed_s"] = Text(elapsed),
                ["metrics"] = MetricsFile.Format(_history),
            };
            Checkpoint.Save(folder.CheckpointPath, model, optimizer, new CheckpointInfo(method.PaperName(), _step, _data.Normalization), extra);
            _savedStep = _step;
            FaultInjection.Reached(FaultInjection.AfterCheckpoint);
            MetricsFile.Write(_metricsPath, _history);
            FaultInjection.Reached(FaultInjection.AfterMetrics);
        }

        private string DivergenceMessage(int epoch, float loss)
        {
            string advice = string.Create(CultureInfo.InvariantCulture,
                $"training diverged at epoch {epoch + 1}, step {_step}: loss {loss}; start a new run with a lower learning rate (e.g. --lr {options.LearningRate / 3:G3}).");
            return _savedStep >= 0
                ? string.Create(CultureInfo.InvariantCulture, $"{advice} The last good checkpoint (step {_savedStep}) is kept in {folder.CheckpointPath}.")
                : $"{advice} No checkpoint was saved: the run diverged before its first epoch ended.";
        }

        /// <summary>Redraws curves.png from the rows so far; a plot that fails is a warning, not a failed run.</summary>
        private void DrawCurves(string title)
        {
            string path = Path.Combine(folder.Path, TrainingCurves.FileName);
            try
            {
                TrainingCurves.Save(path, _history, title);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                log($"warning: could not draw {path}: {exception.GetBaseException().Message}");
            }
        }
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float value in values)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }

        return true;
    }
}
