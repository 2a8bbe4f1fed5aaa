using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Training;

/// <summary>One row of metrics.csv: the state at the end of an epoch (or of a run cut short by max-steps).</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">Global steps done.</param>
/// <param name="TrainLoss">Mean final-classifier loss over the epoch's training batches.</param>
/// <param name="TrainError">Training error over the epoch's batches, in percent.</param>
/// <param name="TestError">Test error, in percent.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch.</param>
/// <param name="ElapsedSeconds">Wall time of the run so far.</param>
/// <param name="LearningRate">Learning rate of the epoch's last step.</param>
public sealed record EpochMetrics(int Epoch, long Step, double TrainLoss, double TrainError, double TestError, double ImagesPerSecond, double ElapsedSeconds, double LearningRate)
{
    /// <summary>The CSV header.</summary>
    public const string CsvHeader = "epoch,step,train_loss,train_error,test_error,images_per_s,elapsed_s,lr";

    /// <summary>This row as CSV.</summary>
    public string ToCsv() => string.Create(CultureInfo.InvariantCulture,
        $"{Epoch},{Step},{TrainLoss:R},{TrainError:R},{TestError:R},{ImagesPerSecond:F1},{ElapsedSeconds:F2},{LearningRate:R}");
}

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
/// <param name="FinalTestError">Test error of the last evaluation, percent (NaN if none).</param>
/// <param name="Steps">Global steps done.</param>
/// <param name="Failure">Why the run stopped early (divergence), or null.</param>
public sealed record TrainingResult(string RunDirectory, IReadOnlyList<EpochMetrics> Epochs, double FinalTestError, long Steps, string? Failure);

/// <summary>
/// Trains a LocalMixer. The data order depends only on (seed, epoch) and the tangents only on (seed, step),
/// so a resumed run gives the same numbers as an uninterrupted one.
/// </summary>
public sealed class Trainer
{
    private readonly TrainerOptions _options;
    private readonly DatasetSplits _data;

    /// <summary>Creates a trainer for <paramref name="options"/> on <paramref name="data"/>.</summary>
    public Trainer(TrainerOptions options, DatasetSplits data)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _data = data ?? throw new ArgumentNullException(nameof(data));
    }

    /// <summary>The model configuration of a run: the preset adapted to the data set, seeded.</summary>
    public static LocalMixerConfig ModelConfig(TrainerOptions options, ImageDataset train) =>
        LocalMixerConfig.Preset(options.Model).ForData(train.Height, train.Width, train.Channels, train.ClassCount) with { Seed = options.Seed };

    /// <summary>
    /// Creates a context for "cpu" or "cuda"; <paramref name="threads"/> &gt; 0 sets the CPU's thread count,
    /// <paramref name="tf32"/> puts CUDA GEMMs on TF32 tensor cores.
    /// </summary>
    public static Context CreateContext(string device, int threads = 0, bool tf32 = false) => device.Trim().ToLowerInvariant() switch
    {
        "cpu" => Context.Cpu(new ContextOptions { Threads = threads }),
        "cuda" or "gpu" => Context.Cuda(options: new ContextOptions { Tf32 = tf32 }),
        _ => throw new ArgumentException($"Unknown device '{device}'; known: cpu, cuda."),
    };

    /// <summary>Test error (percent) of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public static double Evaluate(LocalMixer model, ImageDataset data, ChannelStats normalization, int batchSize = 500)
    {
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

        return data.Count == 0 ? double.NaN : 100.0 * wrong / data.Count;
    }

    /// <summary>
    /// Runs (or, with <paramref name="resume"/>, continues) training into <paramref name="runDirectory"/>.
    /// At the end of each epoch it appends to metrics.csv, redraws curves.png and saves the checkpoint.
    /// </summary>
    /// <param name="runDirectory">The run folder.</param>
    /// <param name="resume">A checkpoint of this run to continue from, or null to start afresh.</param>
    /// <param name="log">Receives the run's text lines (one per epoch, plus a header and warnings).</param>
    /// <param name="progress">Receives a report after every step, on the training thread.</param>
    public TrainingResult Run(string runDirectory, Checkpoint? resume = null, Action<string>? log = null, IProgress<TrainingProgress>? progress = null)
    {
        log ??= _ => { };
        TrainingMethod method = TrainingMethods.Parse(_options.Method);
        OptimizerKind kind = OptimizerSettings.ParseKind(_options.Optimizer);
        ScheduleKind scheduleKind = LearningRateSchedule.ParseKind(_options.Schedule);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.Epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.BatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.Tangents);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.Threads);
        LocalMixerConfig config = ModelConfig(_options, _data.Train);

        Directory.CreateDirectory(runDirectory);
        string checkpointPath = Path.Combine(runDirectory, "checkpoint.safetensors");
        string metricsPath = Path.Combine(runDirectory, "metrics.csv");
        string curvesPath = Path.Combine(runDirectory, TrainingCurves.FileName);
        string curvesTitle = $"{method.PaperName()} {config.Name} on {_data.Spec.Name}";
        File.WriteAllText(Path.Combine(runDirectory, "config.json"), JsonSerializer.Serialize(_options, JsonOptions));

        using Context context = CreateContext(_options.Device, _options.Threads, _options.Tf32);
        using var model = new LocalMixer(context, config);
        using var optimizer = new Optimizer(model, new OptimizerSettings(kind, (float)_options.Momentum, (float)_options.WeightDecay));
        var loader = new BatchLoader(_data.Train, new BatchLoaderOptions
        {
            BatchSize = _options.BatchSize,
            Shuffle = true,
            Seed = unchecked((int)_options.Seed),
            Normalization = _data.Normalization,
        });
        int batches = loader.BatchesPerEpoch;
        long totalSteps = (long)_options.Epochs * batches;
        long stopAt = Math.Min(totalSteps, _options.MaxSteps ?? long.MaxValue);
        var schedule = new LearningRateSchedule(scheduleKind, _options.LearningRate, totalSteps, (long)Math.Round(_options.WarmupEpochs * batches));
        double explodeLimit = Math.Max(50, 20 * Math.Log(config.Classes));

        long step = 0;
        double lossSum = 0, correctSum = 0;
        long seen = 0;
        double elapsedBefore = 0;
        if (resume is not null)
        {
            resume.ApplyTo(model, optimizer);
            step = resume.GetLong("step");
            lossSum = resume.GetDouble("epoch_loss_sum");
            correctSum = resume.GetDouble("epoch_correct_sum");
            seen = resume.GetLong("epoch_seen");
            elapsedBefore = resume.GetDouble("elapsed_s");
            log($"resumed from {resume.Path} at step {step} (epoch {step / batches + 1}, batch {step % batches})");
        }
        else
        {
            File.WriteAllText(metricsPath, EpochMetrics.CsvHeader + Environment.NewLine);
        }

        log($"{method.PaperName()} {config.Name} ({model.ParameterCount:N0} parameters) on {_data.Spec.Name}: {_data.Train.Count} train / {_data.Test.Count} test images, " +
            $"{_options.Epochs} epochs x {batches} batches of {_options.BatchSize}, K={_options.Tangents}, {kind.ToString().ToLowerInvariant()} lr {_options.LearningRate} {scheduleKind.ToString().ToLowerInvariant()} warmup {_options.WarmupEpochs} ep, {context.Backend.ToString().ToLowerInvariant()}");

        var rows = new List<EpochMetrics>();
        var clock = Stopwatch.StartNew();
        double lastTestError = double.NaN;
        string? failure = null;
        double lr = schedule.At(Math.Max(0, step - 1));
        while (step < stopAt && failure is null)
        {
            int epoch = (int)(step / batches);
            int skip = (int)(step - (long)epoch * batches);
            if (skip == 0)
            {
                lossSum = correctSum = 0;
                seen = 0;
            }

            float[] blockLosses = new float[model.Config.Blocks];
            var epochClock = Stopwatch.StartNew();
            long epochImages = 0;
            foreach (Batch batch in loader.Epoch(epoch))
            {
                if (batch.Index < skip)
                {
                    continue;
                }

                // The allocation-free overload: a steady-state step allocates no managed memory.
                var stats = model.ComputeGradients(batch.Images, batch.Labels, method, _options.Tangents, _options.Seed, unchecked((uint)step),
                    blockLosses, (float)_options.HeadLr, (float)_options.LastLayerLr);
                if (!float.IsFinite(stats.Loss) || stats.Loss > explodeLimit || !AllFinite(blockLosses))
                {
                    failure = string.Create(CultureInfo.InvariantCulture,
                        $"training diverged at epoch {epoch + 1}, step {step}: loss {stats.Loss}; try a lower learning rate (e.g. --lr {_options.LearningRate / 3:G3}). The last good checkpoint is kept in {checkpointPath}.");
                    break;
                }

                lr = schedule.At(step);
                optimizer.Step((float)lr);
                step++;
                lossSum += (double)stats.Loss * batch.Count;
                correctSum += Math.Round((double)stats.Accuracy * batch.Count);
                seen += batch.Count;
                epochImages += batch.Count;
                if (progress is not null)
                {
                    double rate = epochImages / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
                    long remaining = stopAt - step;
                    progress.Report(new TrainingProgress(epoch + 1, _options.Epochs, batch.Index + 1, batches, step, stopAt, lossSum / seen, rate,
                        TimeSpan.FromSeconds(remaining * (double)_options.BatchSize / Math.Max(1e-9, rate))));
                }

                if (step >= stopAt)
                {
                    break;
                }
            }

            if (failure is not null)
            {
                break;
            }

            double trainSeconds = epochClock.Elapsed.TotalSeconds;
            bool epochDone = step == (long)(epoch + 1) * batches;
            var metadata = new Dictionary<string, string>
            {
                ["method"] = method.PaperName(),
                ["step"] = Text(step),
                ["epoch"] = Text(epochDone ? epoch + 1 : epoch),
                ["seed"] = Text(_options.Seed),
                ["dataset"] = _data.Spec.Name,
                ["epoch_loss_sum"] = epochDone ? "0" : Text(lossSum),
                ["epoch_correct_sum"] = epochDone ? "0" : Text(correctSum),
                ["epoch_seen"] = epochDone ? "0" : Text(seen),
                ["elapsed_s"] = Text(elapsedBefore + clock.Elapsed.TotalSeconds),
            };
            Checkpoint.Save(checkpointPath, model, optimizer, metadata);
            lastTestError = Evaluate(model, _data.Test, _data.Normalization, _options.EvalBatchSize);
            var row = new EpochMetrics(epoch + 1, step, seen == 0 ? double.NaN : lossSum / seen, seen == 0 ? double.NaN : 100.0 * (1 - correctSum / seen),
                lastTestError, epochImages / Math.Max(1e-9, trainSeconds), elapsedBefore + clock.Elapsed.TotalSeconds, lr);
            rows.Add(row);
            File.AppendAllText(metricsPath, row.ToCsv() + Environment.NewLine);
            DrawCurves(curvesPath, metricsPath, curvesTitle, log);
            log(string.Create(CultureInfo.InvariantCulture,
                $"epoch {row.Epoch}/{_options.Epochs}{(epochDone ? "" : " (partial)")}: train loss {row.TrainLoss:F4}, train error {row.TrainError:F2}%, test error {row.TestError:F2}%, {row.ImagesPerSecond:F0} images/s, {row.ElapsedSeconds:F1} s"));
        }

        return new TrainingResult(runDirectory, rows, lastTestError, step, failure);
    }

    /// <summary>Redraws curves.png from the whole metrics.csv; a plot that fails is a warning, not a failed run.</summary>
    private static void DrawCurves(string curvesPath, string metricsPath, string title, Action<string> log)
    {
        try
        {
            TrainingCurves.Save(curvesPath, TrainingCurves.ReadMetrics(metricsPath), title);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            log($"warning: could not draw {curvesPath}: {exception.GetBaseException().Message}");
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Reads a run's config.json.</summary>
    public static TrainerOptions ReadConfig(string runDirectory)
    {
        string path = Path.Combine(runDirectory, "config.json");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{runDirectory} is not a run folder: config.json is missing.", path);
        }

        return JsonSerializer.Deserialize<TrainerOptions>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} is empty.");
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(ulong value) => value.ToString(CultureInfo.InvariantCulture);

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
