using System.Globalization;
using System.Text;
using ForwardGrad.IO;
using ForwardGrad.Model;

namespace ForwardGrad.Experiments;

/// <summary>Writes results.md, laid out like the paper's Table 3, for a grid's records.</summary>
public static class ReproReport
{
    /// <summary>The markdown table.</summary>
    public const string TableFile = "results.md";

    /// <summary>Writes the report of <paramref name="records"/> into <paramref name="folder"/>.</summary>
    public static void Write(string folder, ReproSettings settings, IReadOnlyList<RunRecord> records)
    {
        string markdown = Markdown(settings, records);
        AtomicFile.Write(Path.Combine(folder, TableFile), stream => stream.Write(Encoding.UTF8.GetBytes(markdown)));
    }

    /// <summary>The columns: one per (data set, model), in the grid's order.</summary>
    public static IReadOnlyList<(string Dataset, string Model)> Columns(ReproSettings settings) =>
        [.. from dataset in settings.Datasets from model in settings.Models select (dataset, LocalMixerConfig.Preset(model).Name)];

    /// <summary>The text of results.md.</summary>
    public static string Markdown(ReproSettings settings, IReadOnlyList<RunRecord> records)
    {
        var chosen = BestRunSelector.Select(records);
        var columns = Columns(settings);
        var methods = settings.ParsedMethods().Select(m => m.PaperName()).ToList();
        bool contrastive = settings.Loss == LocalLoss.Contrastive;
        var text = new StringBuilder();
        text.AppendLine(contrastive
            ? "# Forward gradient with contrastive local losses: linear readout test error / test error of the classifier trained alongside (%)"
            : "# Forward gradient with local losses: test / train error (%)");
        text.AppendLine();
        string what = contrastive
            ? string.Create(CultureInfo.InvariantCulture,
                $"the test error of a fresh linear classifier trained for {settings.ReadoutEpochs} epochs (SGD lr {settings.ReadoutLearningRate}, momentum 0.9) on its frozen features (validation: that readout's error, which chose the run) / the test error of the final classifier trained during the run on detached features. Blocks trained with the contrastive loss between two augmented views of each image (temperature 0.5, 128-d projections); ")
            : "its test error / its error on the images it trained on. ";
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Each cell: the run whose learning rate gave the lowest error on a validation set of {settings.ValidationFraction:P0} held out of the training set (seed {settings.Training.Seed}); {what}" +
            $"{settings.Training.Epochs} epochs{(settings.Training.MaxSteps is long max ? $" (cut at {max} steps)" : "")}, batch {settings.Training.BatchSize}, " +
            $"SGD momentum {settings.Training.Momentum}, weight decay {settings.Training.WeightDecay}, cosine schedule, {settings.Training.WarmupEpochs} warm-up epoch(s), K = {settings.Training.Tangents} tangents for the forward-gradient methods, final-classifier gradient scale {settings.Training.LastLayerLr}, {settings.Training.Device}."));
        text.AppendLine();
        AppendTable(text, "Method", columns.Select(c => $"{c.Dataset} {c.Model}"), methods, (method, i) =>
            chosen.TryGetValue((method, columns[i].Model, columns[i].Dataset), out RunRecord? r) ? Cell(r) : "not run");
        text.AppendLine();
        text.AppendLine("Chosen learning rate (validation error %, runs that diverged out of runs tried):");
        text.AppendLine();
        AppendTable(text, "Method", columns.Select(c => $"{c.Dataset} {c.Model}"), methods, (method, i) =>
        {
            var group = records.Where(r => r.Method == method && r.Model == columns[i].Model && r.Dataset == columns[i].Dataset).ToList();
            if (group.Count == 0 || !chosen.TryGetValue((method, columns[i].Model, columns[i].Dataset), out RunRecord? r))
            {
                return "not run";
            }

            string lr = r.Diverged ? "all diverged" : string.Create(CultureInfo.InvariantCulture, $"{r.LearningRate:G4} ({r.SelectionError:F2})");
            return string.Create(CultureInfo.InvariantCulture, $"{lr}, {group.Count(g => g.Diverged)}/{group.Count} diverged");
        });

        var paperColumns = contrastive ? [] : columns.Select(c => c.Model).Distinct().Where(m => methods.Any(x => PaperResults.MnistError(x, m) is not null)).ToList();
        if (paperColumns.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("The paper's Table 3 on full MNIST (60,000 training images), for comparison:");
            text.AppendLine();
            AppendTable(text, "Method", paperColumns.Select(m => $"MNIST {m} (paper)"), methods, (method, i) =>
                PaperResults.MnistError(method, paperColumns[i]) is var (test, train)
                    ? string.Create(CultureInfo.InvariantCulture, $"{test:F2} / {train:F2}")
                    : "n/a");
        }

        text.AppendLine();
        text.AppendLine(contrastive ? "Linear readout test error of the chosen run (each # is 2 points of error):" : "Test error of the chosen run (each # is 2 points of error):");
        text.AppendLine();
        text.AppendLine("```");
        foreach (var (dataset, model) in columns)
        {
            text.AppendLine($"{dataset} {model}");
            foreach (string method in methods)
            {
                string bar = !chosen.TryGetValue((method, model, dataset), out RunRecord? r) ? "not run"
                    : r.Diverged ? "diverged"
                    : string.Create(CultureInfo.InvariantCulture, $"{new string('#', Math.Max(1, (int)Math.Round(r.ReportedTestError / 2)))} {r.ReportedTestError:F2}");
                text.AppendLine($"  {method,-8} {bar}");
            }
        }

        text.AppendLine("```");
        text.AppendLine();
        double wall = records.Sum(r => r.WallSeconds);
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{records.Count} runs ({records.Count(r => r.Diverged)} diverged), {wall / 60:F1} min of run wall time in all; every run is in runs.csv."));
        return text.ToString();
    }

    /// <summary>A table cell: "test / train" ("readout test / test" for contrastive runs), or "diverged".</summary>
    public static string Cell(RunRecord run) => run.Diverged
        ? "diverged"
        : run.IsContrastive
            ? string.Create(CultureInfo.InvariantCulture, $"{run.ReadoutTestError:F2} / {run.TestError:F2}")
            : string.Create(CultureInfo.InvariantCulture, $"{run.TestError:F2} / {run.TrainError:F2}");

    private static void AppendTable(StringBuilder text, string corner, IEnumerable<string> headers, IReadOnlyList<string> rows, Func<string, int, string> cell)
    {
        var names = headers.ToList();
        text.AppendLine($"| {corner} | {string.Join(" | ", names)} |");
        text.AppendLine($"|---|{string.Concat(names.Select(_ => "---|"))}");
        foreach (string row in rows)
        {
            text.AppendLine($"| {row} | {string.Join(" | ", names.Select((_, i) => cell(row, i)))} |");
        }
    }
}
