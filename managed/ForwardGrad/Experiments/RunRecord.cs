using System.Globalization;
using System.Text;

namespace ForwardGrad.Experiments;

/// <summary>
/// One finished run of a grid: one row of runs.csv. Errors are percentages; NaN where the run has none
/// (a diverged run has no errors).
/// </summary>
/// <param name="Method">Paper name of the method.</param>
/// <param name="Model">Model preset.</param>
/// <param name="Dataset">Data set name.</param>
/// <param name="LearningRate">Peak learning rate.</param>
/// <param name="Epochs">Epochs asked for.</param>
/// <param name="Tangents">Tangents K (forward-gradient methods).</param>
/// <param name="BatchSize">Batch size.</param>
/// <param name="Seed">Seed.</param>
/// <param name="MaxSteps">Step limit of a smoke run, or null.</param>
/// <param name="Steps">Steps done.</param>
/// <param name="ValidationError">Error on the held-out validation images at the end.</param>
/// <param name="TestError">Error on the test set at the end.</param>
/// <param name="TrainError">Error on the images trained on, at the end (evaluation mode, not the running batch error).</param>
/// <param name="Diverged">True when training stopped on a non-finite or exploding loss.</param>
/// <param name="WallSeconds">Wall time of the run, training and evaluation.</param>
/// <param name="Note">Why it diverged, or empty.</param>
/// <param name="Loss">The blocks' local losses: "cross-entropy" or "contrastive".</param>
/// <param name="ReadoutEpochs">Contrastive runs: epochs of the linear readout trained on the frozen features (0: none).</param>
/// <param name="ReadoutLearningRate">Contrastive runs: the readout's learning rate (NaN: none).</param>
/// <param name="ReadoutValidationError">Contrastive runs: the readout's error on the validation images.</param>
/// <param name="ReadoutTestError">Contrastive runs: the readout's error on the test set.</param>
public sealed record RunRecord(
    string Method,
    string Model,
    string Dataset,
    double LearningRate,
    int Epochs,
    int Tangents,
    int BatchSize,
    ulong Seed,
    long? MaxSteps,
    long Steps,
    double ValidationError,
    double TestError,
    double TrainError,
    bool Diverged,
    double WallSeconds,
    string Note = "",
    string Loss = "cross-entropy",
    int ReadoutEpochs = 0,
    double ReadoutLearningRate = double.NaN,
    double ReadoutValidationError = double.NaN,
    double ReadoutTestError = double.NaN)
{
    /// <summary>The header of runs.csv.</summary>
    public const string CsvHeader = "method,model,dataset,lr,epochs,tangents,batch_size,seed,max_steps,steps,val_error,test_error,train_error,diverged,wall_s,note," +
        "loss,readout_epochs,readout_lr,readout_val_error,readout_test_error";

    /// <summary>What identifies a run of a grid: a re-run with the same key is skipped.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture,
        $"{Method}|{Model}|{Dataset}|{LearningRate:R}|{Epochs}|{Tangents}|{BatchSize}|{Seed}|{MaxSteps}|{Loss}|{ReadoutEpochs}|{ReadoutLearningRate:R}");

    /// <summary>True for a run with contrastive local losses, which a linear readout evaluates.</summary>
    public bool IsContrastive => Loss == "contrastive";

    /// <summary>The error the learning rate is chosen by: the readout's validation error for contrastive runs, else the model's.</summary>
    public double SelectionError => IsContrastive ? ReadoutValidationError : ValidationError;

    /// <summary>The test error a report shows: the readout's for contrastive runs, else the model's.</summary>
    public double ReportedTestError => IsContrastive ? ReadoutTestError : TestError;

    /// <summary>This record as a CSV row.</summary>
    public string ToCsv() => string.Join(',',
        Method, Model, Dataset, Number(LearningRate), Epochs.ToString(CultureInfo.InvariantCulture), Tangents.ToString(CultureInfo.InvariantCulture),
        BatchSize.ToString(CultureInfo.InvariantCulture), Seed.ToString(CultureInfo.InvariantCulture),
        MaxSteps?.ToString(CultureInfo.InvariantCulture) ?? "", Steps.ToString(CultureInfo.InvariantCulture),
        Number(ValidationError), Number(TestError), Number(TrainError), Diverged ? "true" : "false",
        WallSeconds.ToString("F2", CultureInfo.InvariantCulture), Quote(Note), Loss, ReadoutEpochs.ToString(CultureInfo.InvariantCulture),
        Number(ReadoutLearningRate), Number(ReadoutValidationError), Number(ReadoutTestError));

    /// <summary>
    /// Parses a row written by <see cref="ToCsv"/>; null for a damaged row (a run cut off mid-write). A row without the
    /// loss and readout columns is a cross-entropy run.
    /// </summary>
    public static RunRecord? TryParse(string line)
    {
        List<string> f = SplitCsv(line);
        if (f.Count < 15)
        {
            return null;
        }

        try
        {
            return new RunRecord(f[0], f[1], f[2], ParseNumber(f[3]), int.Parse(f[4], CultureInfo.InvariantCulture),
                int.Parse(f[5], CultureInfo.InvariantCulture), int.Parse(f[6], CultureInfo.InvariantCulture), ulong.Parse(f[7], CultureInfo.InvariantCulture),
                f[8].Length == 0 ? null : long.Parse(f[8], CultureInfo.InvariantCulture), long.Parse(f[9], CultureInfo.InvariantCulture),
                ParseNumber(f[10]), ParseNumber(f[11]), ParseNumber(f[12]), bool.Parse(f[13]), ParseNumber(f[14]), f.Count > 15 ? f[15] : "")
            {
                Loss = f.Count > 16 ? f[16] : "cross-entropy",
                ReadoutEpochs = f.Count > 17 ? int.Parse(f[17], CultureInfo.InvariantCulture) : 0,
                ReadoutLearningRate = f.Count > 18 ? ParseNumber(f[18]) : double.NaN,
                ReadoutValidationError = f.Count > 19 ? ParseNumber(f[19]) : double.NaN,
                ReadoutTestError = f.Count > 20 ? ParseNumber(f[20]) : double.NaN,
            };
        }
        catch (FormatException)
        {
            return null;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>Reads every parseable row of a runs.csv (none when the file does not exist).</summary>
    public static IReadOnlyList<RunRecord> ReadAll(string path) =>
        File.Exists(path) ? [.. File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(TryParse).OfType<RunRecord>()] : [];

    /// <summary>Appends <paramref name="record"/> to <paramref name="path"/>, writing the header first into a new file.</summary>
    public static void Append(string path, RunRecord record)
    {
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        string text = (fresh ? CsvHeader + "\n" : EndsWithNewline(path) ? "" : "\n") + record.ToCsv() + "\n";
        File.AppendAllText(path, text);
    }

    private static bool EndsWithNewline(string path)
    {
        using var stream = File.OpenRead(path);
        if (stream.Length == 0)
        {
            return true;
        }

        stream.Seek(-1, SeekOrigin.End);
        return stream.ReadByte() == '\n';
    }

    private static string Number(double value) => double.IsNaN(value) ? "" : value.ToString("R", CultureInfo.InvariantCulture);

    private static double ParseNumber(string text) =>
        text.Length == 0 ? double.NaN : double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Quote(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : "\"" + text.Replace("\r", " ").Replace("\n", " ").Replace("\"", "\"\"") + "\"";

    private static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        fields.Add(field.ToString());
        return fields;
    }
}

/// <summary>Chooses the learning rate of each (method, model, data set) by validation error.</summary>
public static class BestRunSelector
{
    /// <summary>
    /// The chosen run of each (method, model, data set): the lowest validation error (<see cref="RunRecord.SelectionError"/>)
    /// among the runs that did not diverge (ties: the smaller learning rate). The test error plays no part. When every run of a group
    /// diverged (or has no validation error) the group's chosen run is a diverged one, so it is reported, not dropped.
    /// </summary>
    public static IReadOnlyDictionary<(string Method, string Model, string Dataset), RunRecord> Select(IEnumerable<RunRecord> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var chosen = new Dictionary<(string, string, string), RunRecord>();
        foreach (var group in runs.GroupBy(r => (r.Method, r.Model, r.Dataset)))
        {
            RunRecord? best = group
                .Where(r => !r.Diverged && double.IsFinite(r.SelectionError))
                .OrderBy(r => r.SelectionError)
                .ThenBy(r => r.LearningRate)
                .FirstOrDefault();
            chosen[group.Key] = best ?? group.OrderBy(r => r.LearningRate).First();
        }

        return chosen;
    }
}
