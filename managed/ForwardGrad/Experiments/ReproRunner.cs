using System.Diagnostics;
using System.Globalization;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Experiments;

/// <summary>A data set split for a sweep: training part, validation part (held out of the training set) and test set.</summary>
/// <param name="Full">The data set as loaded.</param>
/// <param name="Training">What runs train on, with <see cref="DatasetSplits.Test"/> = the validation part, so the
/// trainer's per-epoch "test error" is the validation error and the test set is never looked at while training.</param>
public sealed record SweepData(DatasetSplits Full, DatasetSplits Training)
{
    /// <summary>Loads <paramref name="dataset"/> and holds <paramref name="fraction"/> of its training set out, seeded.</summary>
    public static SweepData Load(string dataset, string? dataDir, double fraction, ulong seed) => Split(DatasetCatalog.Load(dataset, dataDir), fraction, seed);

    /// <summary>Holds <paramref name="fraction"/> of <paramref name="full"/>'s training set out, seeded.</summary>
    public static SweepData Split(DatasetSplits full, double fraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(full);
        var (train, validation) = ValidationSplit.HoldOut(full.Train, fraction, unchecked((int)seed));
        return new SweepData(full, new DatasetSplits(full.Spec, full.Folder, train, validation));
    }

    /// <summary>The normalisation every run and every evaluation uses (published, else the training part's own).</summary>
    public ChannelStats Normalization => Training.Normalization;
}

/// <summary>
/// Runs the grid of <c>fgrad repro</c> into a folder: one run folder per run under runs/, every finished run
/// appended to runs.csv (so an interrupted grid resumes where it stopped), then results.md.
/// </summary>
public sealed class ReproRunner
{
    /// <summary>The CSV of every run.</summary>
    public const string RunsFile = "runs.csv";

    private readonly ReproSettings _settings;
    private readonly Func<string, SweepData> _loadData;
    private readonly Dictionary<string, SweepData> _data = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates a runner; <paramref name="loadData"/> replaces the catalog (tests pass synthetic data).</summary>
    public ReproRunner(ReproSettings settings, Func<string, SweepData>? loadData = null)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _settings.Validate();
        _loadData = loadData ?? (name => SweepData.Load(name, _settings.Training.DataDir, _settings.ValidationFraction, _settings.Training.Seed));
    }

    /// <summary>The runs of the grid, in the order they are run: data set, model, method (paper order), learning rate.</summary>
    public IReadOnlyList<(string Dataset, string Model, TrainingMethod Method, double LearningRate)> Plan() =>
        [.. from dataset in _settings.Datasets
            from model in _settings.Models
            from method in _settings.ParsedMethods()
            from lr in _settings.LearningRatesFor(method)
            select (dataset, LocalMixerConfig.Preset(model).Name, method, lr)];

    /// <summary>The data of <paramref name="dataset"/> (loaded and split once).</summary>
    public SweepData Data(string dataset)
    {
        if (!_data.TryGetValue(dataset, out SweepData? data))
        {
            data = _loadData(dataset);
            _data[dataset] = data;
        }

        return data;
    }

    /// <summary>
    /// Runs every run of the grid not already in <paramref name="outputFolder"/>/runs.csv, then writes the report.
    /// Returns the grid's records (old and new).
    /// </summary>
    public IReadOnlyList<RunRecord> RunGrid(string outputFolder, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Directory.CreateDirectory(outputFolder);
        string csv = Path.Combine(outputFolder, RunsFile);
        var done = new Dictionary<string, RunRecord>();
        foreach (RunRecord old in RunRecord.ReadAll(csv))
        {
            done[old.Key] = old;
        }

        var plan = Plan();
        var records = new List<RunRecord>();
        int skipped = 0, index = 0;
        var clock = Stopwatch.StartNew();
        foreach (var (dataset, model, method, lr) in plan)
        {
            index++;
            string key = Template(dataset, model, method, lr).Key;
            if (done.TryGetValue(key, out RunRecord? previous))
            {
                records.Add(previous);
                skipped++;
                continue;
            }

            RunRecord record = RunOne(dataset, model, method, lr, _settings.Training.Tangents, Path.Combine(outputFolder, "runs", RunFolderName(dataset, model, method, lr, _settings.Training.Tangents)));
            RunRecord.Append(csv, record);
            records.Add(record);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{index}/{plan.Count}] {Describe(record)} ({clock.Elapsed.TotalMinutes:F1} min so far)"));
        }

        if (skipped > 0)
        {
            output.WriteLine($"skipped {skipped} finished run(s) found in {csv}");
        }

        // The report covers every run of this grid's configurations on record, also learning rates added by an earlier
        // or later invocation into the same folder (a sweep extended at its edge).
        var planned = records.Select(r => r.Key).ToHashSet();
        records.AddRange(RunRecord.ReadAll(csv).Where(r => _settings.Covers(r) && planned.Add(r.Key)));
        ReproReport.Write(outputFolder, _settings, records);
        output.WriteLine($"results: {Path.Combine(outputFolder, ReproReport.TableFile)}, {csv}");
        return records;
    }

    /// <summary>One line about a finished run.</summary>
    public static string Describe(RunRecord r) => r.Diverged
        ? string.Create(CultureInfo.InvariantCulture, $"{r.Method} {r.Model} {r.Dataset} lr {r.LearningRate:G4}: diverged after {r.Steps} steps, {r.WallSeconds:F1} s")
        : string.Create(CultureInfo.InvariantCulture,
            $"{r.Method} {r.Model} {r.Dataset} lr {r.LearningRate:G4}: val {r.ValidationError:F2}%, test {r.TestError:F2}%, train {r.TrainError:F2}%{ReadoutText(r)}, {r.WallSeconds:F1} s");

    private static string ReadoutText(RunRecord r) => r.IsContrastive
        ? string.Create(CultureInfo.InvariantCulture, $", linear readout val {r.ReadoutValidationError:F2}% test {r.ReadoutTestError:F2}%")
        : "";

    /// <summary>
    /// Trains one run on the training part of <paramref name="dataset"/> (validation held out) and evaluates the final
    /// model on the validation part, the test set and the training part. A run whose loss blows up is recorded as diverged.
    /// </summary>
    public RunRecord RunOne(string dataset, string model, TrainingMethod method, double lr, int tangents, string runFolder)
    {
        SweepData data = Data(dataset);
        TrainerOptions options = TrainerOptionsFor(dataset, model, method, lr, tangents);
        if (Directory.Exists(runFolder))
        {
            Directory.Delete(runFolder, recursive: true); // a run cut off before it reached runs.csv starts again
        }

        Directory.CreateDirectory(runFolder);
        var clock = Stopwatch.StartNew();
        TrainingResult result;
        using (var log = new StreamWriter(Path.Combine(runFolder, "train.log")))
        {
            try
            {
                result = new Trainer(options, data.Training).Run(runFolder, RunStart.New, log.WriteLine);
            }
            catch (Exception e) when (IsDivergence(e))
            {
                log.WriteLine(e.Message);
                result = new TrainingResult(runFolder, [], double.NaN, 0, e.Message);
            }
        }

        RunRecord record = Template(dataset, model, method, lr, tangents) with { Steps = result.Steps };
        string checkpoint = Path.Combine(runFolder, "checkpoint.safetensors");
        if (result.Failure is not null || !File.Exists(checkpoint))
        {
            return record with { Diverged = true, WallSeconds = clock.Elapsed.TotalSeconds, Note = result.Failure ?? "no checkpoint was written" };
        }

        double validation, test, train;
        try
        {
            (validation, test, train) = EvaluateCheckpoint(checkpoint, data, options.Device, options.EvalBatchSize, options.Threads);
        }
        catch (CheckpointException e) when (IsDivergence(e))
        {
            return record with { Diverged = true, WallSeconds = clock.Elapsed.TotalSeconds, Note = e.Message };
        }

        bool diverged = !double.IsFinite(validation);
        record = record with { ValidationError = validation, TestError = test, TrainError = train };
        if (!diverged && record.IsContrastive)
        {
            (double readoutValidation, double readoutTest) = Readout(checkpoint, data, options, runFolder);
            record = record with { ReadoutValidationError = readoutValidation, ReadoutTestError = readoutTest };
        }

        return record with
        {
            Diverged = diverged,
            WallSeconds = clock.Elapsed.TotalSeconds,
            Note = diverged ? "the final model's outputs are not finite" : "",
        };
    }

    /// <summary>
    /// The linear evaluation of a contrastive run: a fresh classifier trained on the checkpoint's frozen features over
    /// the training part (<see cref="LinearReadout"/>), its error on the validation part and on the test set (percent).
    /// Its epochs go to readout.log in the run folder.
    /// </summary>
    public (double Validation, double Test) Readout(string checkpointPath, SweepData data, TrainerOptions options, string runFolder)
    {
        Checkpoint checkpoint = Checkpoint.Load(checkpointPath);
        using Context context = Trainer.CreateContext(options.Device, options.Threads);
        using var model = new LocalMixer(context, checkpoint.Config);
        checkpoint.ApplyTo(model);
        using var log = new StreamWriter(Path.Combine(runFolder, "readout.log"));
        double validation = LinearReadout.Train(model, data.Training, data.Normalization, _settings.ReadoutEpochs, _settings.ReadoutLearningRate,
            options.BatchSize, options.Seed, log.WriteLine);
        return (validation, Trainer.Evaluate(model, data.Full.Test, data.Normalization, options.EvalBatchSize));
    }

    /// <summary>Validation, test and training error (percent) of a checkpoint.</summary>
    public static (double Validation, double Test, double Train) EvaluateCheckpoint(string checkpointPath, SweepData data, string device, int batchSize = 500, int threads = 0)
    {
        Checkpoint checkpoint = Checkpoint.Load(checkpointPath);
        using Context context = Trainer.CreateContext(device, threads);
        using var model = new LocalMixer(context, checkpoint.Config);
        checkpoint.ApplyTo(model);
        ChannelStats norm = data.Normalization;
        return (Trainer.Evaluate(model, data.Training.Test, norm, batchSize),
            Trainer.Evaluate(model, data.Full.Test, norm, batchSize),
            Trainer.Evaluate(model, data.Training.Train, norm, batchSize));
    }

    /// <summary>The trainer settings of one run: the grid's training options with this run's data set, model, method, lr and K.</summary>
    public TrainerOptions TrainerOptionsFor(string dataset, string model, TrainingMethod method, double lr, int tangents) => _settings.Training with
    {
        Dataset = dataset,
        Model = model,
        Method = method.PaperName(),
        Tangents = tangents,
        LearningRate = lr,
    };

    private RunRecord Template(string dataset, string model, TrainingMethod method, double lr, int? tangents = null)
    {
        var record = new RunRecord(method.PaperName(), model, dataset, lr, _settings.Training.Epochs, tangents ?? _settings.Training.Tangents, _settings.Training.BatchSize,
            _settings.Training.Seed, _settings.Training.MaxSteps, 0, double.NaN, double.NaN, double.NaN, false, 0) { Loss = _settings.Loss.Name() };
        return _settings.Loss == LocalLoss.Contrastive
            ? record with { ReadoutEpochs = _settings.ReadoutEpochs, ReadoutLearningRate = _settings.ReadoutLearningRate }
            : record;
    }

    private string RunFolderName(string dataset, string model, TrainingMethod method, double lr, int tangents) =>
        string.Create(CultureInfo.InvariantCulture, $"{dataset}_{model.Replace('/', '-')}_{method.PaperName()}_lr{lr:R}_k{tangents}") +
        (_settings.Loss == LocalLoss.Contrastive ? "_contrastive" : "");

    private static bool IsDivergence(Exception e) =>
        e is ArithmeticException || e.Message.Contains("diverg", StringComparison.OrdinalIgnoreCase) ||
        e.Message.Contains("non-finite", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("NaN", StringComparison.Ordinal);
}
