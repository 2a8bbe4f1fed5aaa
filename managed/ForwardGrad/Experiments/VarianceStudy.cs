using System.Globalization;
using System.Text;
using ForwardGrad.Data;
using ForwardGrad.IO;
using ForwardGrad.Model;
using ForwardGrad.Optim;
using ForwardGrad.Training;

namespace ForwardGrad.Experiments;

/// <summary>What the variance study measures.</summary>
public sealed record VarianceSettings
{
    /// <summary>Batches the cosines are averaged over.</summary>
    public int Batches { get; init; } = 10;

    /// <summary>Tangent counts K compared.</summary>
    public IReadOnlyList<int> Tangents { get; init; } = [1, 2, 4, 8];

    /// <summary>BP steps (from the initialisation) before the second measurement; 0: initialisation only.</summary>
    public int TrainedSteps { get; init; } = 100;

    /// <summary>Learning rate of those BP steps (SGD, momentum 0.9, constant).</summary>
    public double TrainedLearningRate { get; init; } = 0.05;

    /// <summary>Epochs of the LG-FG-A runs, one per K, that measure test error; 0: none.</summary>
    public int TangentRunEpochs { get; init; } = 2;

    /// <summary>Learning rate of those runs.</summary>
    public double TangentRunLearningRate { get; init; } = 0.1;
}

/// <summary>One row of variance.csv: a method's mean cosine with its exact gradient on one parameter group.</summary>
/// <remarks><see cref="ExactIsZero"/>: the exact gradient of the group was zero on every batch (at initialisation the final
/// classifier is zero, so no gradient of the final loss reaches the blocks); the cosine is then a convention.</remarks>
public sealed record VarianceRow(string Phase, string Dataset, string Model, string Method, int? Tangents, string Group, double MeanCosine, double StdCosine, int Batches,
    bool ExactIsZero = false)
{
    /// <summary>The CSV header.</summary>
    public const string CsvHeader = "phase,dataset,model,method,tangents,group,mean_cosine,std_cosine,batches,exact_is_zero";

    /// <summary>This row as CSV.</summary>
    public string ToCsv() => string.Create(CultureInfo.InvariantCulture,
        $"{Phase},{Dataset},{Model},{Method},{Tangents?.ToString(CultureInfo.InvariantCulture) ?? ""},{Group},{MeanCosine:R},{StdCosine:R},{Batches},{(ExactIsZero ? "true" : "false")}");
}

/// <summary>
/// The paper's section-3 study: how well each method's gradient estimate points along the exact gradient of its
/// own objective, per block, averaged over batches, at initialisation and after a short BP training; how K changes
/// it; and how K changes LG-FG-A's error in a short run.
/// </summary>
public sealed class VarianceStudy
{
    /// <summary>The report.</summary>
    public const string ReportFile = "variance.md";

    /// <summary>The cosines.</summary>
    public const string CsvFile = "variance.csv";

    /// <summary>The K runs.</summary>
    public const string TangentRunsFile = "variance-tangents.csv";

    private readonly ReproSettings _settings;
    private readonly VarianceSettings _study;
    private readonly ReproRunner _runner;

    /// <summary>Creates the study; <paramref name="loadData"/> replaces the catalog (tests).</summary>
    public VarianceStudy(ReproSettings settings, VarianceSettings study, Func<string, SweepData>? loadData = null)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _study = study ?? throw new ArgumentNullException(nameof(study));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(study.Batches);
        if (study.Tangents.Count == 0 || study.Tangents.Any(k => k < 1))
        {
            throw new ArgumentException("Tangent counts must be at least 1.");
        }

        _runner = new ReproRunner(settings with { Training = settings.Training with { Epochs = Math.Max(1, study.TangentRunEpochs) } }, loadData);
    }

    /// <summary>Measures everything, writes variance.md, variance.csv and variance-tangents.csv into <paramref name="folder"/>, returns the cosine rows.</summary>
    public IReadOnlyList<VarianceRow> Run(string folder, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Directory.CreateDirectory(folder);
        var rows = new List<VarianceRow>();
        var runs = new List<RunRecord>();
        foreach (string dataset in _settings.Datasets)
        {
            foreach (string modelName in _settings.Models.Select(m => LocalMixerConfig.Preset(m).Name))
            {
                rows.AddRange(MeasureCosines(dataset, modelName, output));
                if (_study.TangentRunEpochs > 0)
                {
                    foreach (int k in _study.Tangents)
                    {
                        RunRecord run = _runner.RunOne(dataset, modelName, TrainingMethod.LGFGA, _study.TangentRunLearningRate, k,
                            Path.Combine(folder, "runs", string.Create(CultureInfo.InvariantCulture, $"{dataset}_{modelName.Replace('/', '-')}_LG-FG-A_k{k}")));
                        runs.Add(run);
                        output.WriteLine($"K = {k}: {ReproRunner.Describe(run)}");
                    }
                }
            }
        }

        AtomicFile.Write(Path.Combine(folder, CsvFile), s => s.Write(Encoding.UTF8.GetBytes(
            VarianceRow.CsvHeader + "\n" + string.Concat(rows.Select(r => r.ToCsv() + "\n")))));
        AtomicFile.Write(Path.Combine(folder, TangentRunsFile), s => s.Write(Encoding.UTF8.GetBytes(
            RunRecord.CsvHeader + "\n" + string.Concat(runs.Select(r => r.ToCsv() + "\n")))));
        AtomicFile.Write(Path.Combine(folder, ReportFile), s => s.Write(Encoding.UTF8.GetBytes(Markdown(rows, runs))));
        output.WriteLine($"variance study: {Path.Combine(folder, ReportFile)}, {Path.Combine(folder, CsvFile)}");
        return rows;
    }

    /// <summary>The cosine rows of one (data set, model): every method, every K, every group, each phase.</summary>
    public IReadOnlyList<VarianceRow> MeasureCosines(string dataset, string modelName, TextWriter output)
    {
        SweepData data = _runner.Data(dataset);
        TrainerOptions options = _settings.Training with { Model = modelName };
        LocalMixerConfig config = Trainer.ModelConfig(options, data.Training.Train);
        var loader = new BatchLoader(data.Training.Train, new BatchLoaderOptions
        {
            BatchSize = _settings.Training.BatchSize,
            Shuffle = true,
            Seed = unchecked((int)_settings.Training.Seed),
            Normalization = data.Normalization,
        });
        var batches = new List<(float[] Images, int[] Labels)>();
        for (int epoch = 0; batches.Count < _study.Batches; epoch++)
        {
            foreach (Batch batch in loader.Epoch(epoch))
            {
                batches.Add((batch.Images.ToArray(), batch.Labels.ToArray()));
                if (batches.Count == _study.Batches)
                {
                    break;
                }
            }
        }

        using Context context = Trainer.CreateContext(_settings.Training.Device, _settings.Training.Threads);
        using var model = new LocalMixer(context, config);
        var rows = new List<VarianceRow>();
        rows.AddRange(MeasurePhase("init", dataset, modelName, model, batches));
        if (_study.TrainedSteps > 0)
        {
            using var optimizer = new Optimizer(model, new OptimizerSettings(OptimizerKind.Sgd, 0.9f, (float)_settings.Training.WeightDecay));
            long step = 0;
            for (int epoch = 0; step < _study.TrainedSteps; epoch++)
            {
                foreach (Batch batch in loader.Epoch(epoch + 1000))
                {
                    model.ComputeGradients(batch.Images, batch.Labels, TrainingMethod.BP, 1, _settings.Training.Seed, unchecked((uint)step));
                    optimizer.Step((float)_study.TrainedLearningRate);
                    if (++step >= _study.TrainedSteps)
                    {
                        break;
                    }
                }
            }

            rows.AddRange(MeasurePhase($"after {_study.TrainedSteps} BP steps", dataset, modelName, model, batches));
        }

        foreach (var row in rows.Where(r => r.Group == "all"))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Phase}, {dataset} {modelName}, {row.Method}{(row.Tangents is int k ? $" K={k}" : "")}: cosine {row.MeanCosine:F4} (sd {row.StdCosine:F4})"));
        }

        return rows;
    }

    private IEnumerable<VarianceRow> MeasurePhase(string phase, string dataset, string modelName, LocalMixer model, List<(float[] Images, int[] Labels)> batches)
    {
        IReadOnlyList<string> groups = GradientCosines.Groups(model);
        foreach (TrainingMethod method in _settings.ParsedMethods())
        {
            IEnumerable<int?> counts = method.UsesTangents() ? _study.Tangents.Select(k => (int?)k) : [null];
            foreach (int? k in counts)
            {
                var values = groups.ToDictionary(g => g, _ => new List<double>());
                var zero = groups.ToDictionary(g => g, _ => 0);
                for (int b = 0; b < batches.Count; b++)
                {
                    BatchCosines cosines = GradientCosines.Measure(model, batches[b].Images, batches[b].Labels, method, k ?? 1, _settings.Training.Seed, unchecked((uint)b));
                    foreach (string group in groups)
                    {
                        values[group].Add(cosines.PerGroup[group]);
                        zero[group] += cosines.ExactIsZero.Contains(group) ? 1 : 0;
                    }
                }

                foreach (string group in groups)
                {
                    List<double> v = values[group];
                    double mean = v.Average();
                    double sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, v.Count - 1));
                    yield return new VarianceRow(phase, dataset, modelName, method.PaperName(), k, group, mean, sd, v.Count, zero[group] == v.Count);
                }
            }
        }
    }

    private static string CosineCell(VarianceRow row) => row.ExactIsZero
        ? string.Create(CultureInfo.InvariantCulture, $"(exact = 0) {row.MeanCosine:F0}")
        : string.Create(CultureInfo.InvariantCulture, $"{row.MeanCosine:F4} ± {row.StdCosine:F4}");

    private string Markdown(IReadOnlyList<VarianceRow> rows, IReadOnlyList<RunRecord> runs)
    {
        var text = new StringBuilder();
        text.AppendLine("# Gradient variance: cosine similarity with the exact gradient of each method's own objective");
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Exact gradient: BP for FG-W and FG-A, LG-BP for LG-FG-W and LG-FG-A; the backprop methods are exact (1). Cosine over the concatenated parameters of each group, " +
            $"mean over {_study.Batches} training batches of {_settings.Training.BatchSize} (seed {_settings.Training.Seed}). \"all\" = the whole model; \"classifier\" = the final linear layer. ") +
            "\"(exact = 0)\": the exact gradient of that group was zero on every batch (at initialisation the final classifier is zero, so no gradient of the final loss reaches the blocks, " +
            "for BP and for its forward-gradient estimates alike); the cosine shown is then the convention 1 (both zero) or 0, not a measurement.");
        foreach (var set in rows.GroupBy(r => (r.Phase, r.Dataset, r.Model)))
        {
            text.AppendLine();
            text.AppendLine($"## {set.Key.Dataset} {set.Key.Model}, {set.Key.Phase}");
            text.AppendLine();
            var groups = set.Select(r => r.Group).Distinct().ToList();
            text.AppendLine($"| Method | K | {string.Join(" | ", groups)} |");
            text.AppendLine($"|---|---|{string.Concat(groups.Select(_ => "---|"))}");
            foreach (var line in set.GroupBy(r => (r.Method, r.Tangents)))
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {line.Key.Method} | {line.Key.Tangents?.ToString(CultureInfo.InvariantCulture) ?? "exact"} | {string.Join(" | ", groups.Select(g => CosineCell(line.First(r => r.Group == g))))} |"));
            }
        }

        if (runs.Count > 0)
        {
            text.AppendLine();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"## LG-FG-A error against K ({_study.TangentRunEpochs} epochs, lr {_study.TangentRunLearningRate}, validation split {_settings.ValidationFraction:P0})"));
            text.AppendLine();
            text.AppendLine("| Data set | Model | K | val error % | test error % | train error % | wall s |");
            text.AppendLine("|---|---|---|---|---|---|---|");
            foreach (RunRecord r in runs)
            {
                text.AppendLine(r.Diverged
                    ? string.Create(CultureInfo.InvariantCulture, $"| {r.Dataset} | {r.Model} | {r.Tangents} | diverged | diverged | diverged | {r.WallSeconds:F1} |")
                    : string.Create(CultureInfo.InvariantCulture, $"| {r.Dataset} | {r.Model} | {r.Tangents} | {r.ValidationError:F2} | {r.TestError:F2} | {r.TrainError:F2} | {r.WallSeconds:F1} |"));
            }
        }

        return text.ToString();
    }
}
