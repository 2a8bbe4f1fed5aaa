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
    string Note = "")
{
    /// <summary>The header of runs.csv.</summary>
    public const string CsvHeader = "method,model,dataset,lr,epochs,tangents,batch_size,seed,max_steps,steps,val_error,test_error,train_error,diverged,wall_s,note";

    /// <summary>What identifies a run of a grid: a re-run with the same key is skipped.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture,
        $"{Method}|{Model}|{Dataset}|{LearningRate:R}|{Epochs}|{Tangents}|{BatchSize}|{Seed}|{MaxSteps}");

    /// <summary>This record as a CSV row.</summary>
    public string ToCsv() => string.Join(',',
        Method, Model, Dataset, Number(LearningRate), Epochs.ToString(CultureInfo.InvariantCulture), Tangents.ToString(CultureInfo.InvariantCulture),
        BatchSize.ToString(CultureInfo.InvariantCulture), Seed.ToString(CultureInfo.InvariantCulture),
        MaxSteps?.ToString(CultureInfo.InvariantCulture) ?? "", Steps.ToString(CultureInfo.InvariantCulture),
        Number(ValidationError), Number(TestError), Number(TrainError), Diverged ? "true" : "false",
        WallSeconds.ToString("F2", CultureInfo.InvariantCulture), Quote(Note));

    /// <summary>Parses a row written by <see cref="ToCsv"/>; null for a damaged row (a run cut off mid-write).</summary>
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
                ParseNumber(f[10]), ParseNumber(f[11]), ParseNumber(f[12]), bool.Parse(f[13]), ParseNumber(f[14]), f.Count > 15 ? f[15] : "");
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
    /// The chosen run of each (method, model, data set): the lowest validation error among the runs that did not
    /// diverge (ties: the smaller learning rate). The test error plays no part. When every run of a group
    /// diverged (or has no validation error) the group's chosen run is a diverged one, so it is reported, not dropped.
    /// </summary>
    public static IReadOnlyDictionary<(string Method, string Model, string Dataset), RunRecord> Select(IEnumerable<RunRecord> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var chosen = new Dictionary<(string, string, string), RunRecord>();
        foreach (var group in runs.GroupBy(r => (r.Method, r.Model, r.Dataset)))
        {
            RunRecord? best = group
                .Where(r => !r.Diverged && double.IsFinite(r.ValidationError))
                .OrderBy(r => r.ValidationError)
                .ThenBy(r => r.LearningRate)
                .FirstOrDefault();
            chosen[group.Key] = best ?? group.OrderBy(r => r.LearningRate).First();
        }

        return chosen;
    }
}
