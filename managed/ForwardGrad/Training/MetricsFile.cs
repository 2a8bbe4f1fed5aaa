using System.Globalization;
using System.Text;
using ForwardGrad.IO;

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

    /// <summary>Parses a row written by <see cref="ToCsv"/>.</summary>
    public static EpochMetrics Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        string[] f = line.Split(',');
        if (f.Length < 8)
        {
            throw new InvalidDataException($"metrics.csv row '{line}' has {f.Length} fields, expected 8.");
        }

        double D(int i) => double.Parse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture);
        return new EpochMetrics(int.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
            D(2), D(3), D(4), D(5), D(6), D(7));
    }
}

/// <summary>
/// metrics.csv: the header and one row per epoch end. The run's checkpoint carries the same rows, so the file is
/// always rewritten whole from them (atomically) and a resumed run restores it from its checkpoint.
/// </summary>
public static class MetricsFile
{
    /// <summary>The file name in a run folder.</summary>
    public const string FileName = "metrics.csv";

    /// <summary>The rows as CSV text: the header, then one line per row.</summary>
    public static string Format(IEnumerable<EpochMetrics> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder(EpochMetrics.CsvHeader).Append('\n');
        foreach (EpochMetrics row in rows)
        {
            text.Append(row.ToCsv()).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Parses <see cref="Format"/>'s text (the header line is skipped).</summary>
    public static IReadOnlyList<EpochMetrics> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. text.ReplaceLineEndings("\n").Split('\n').Skip(1).Where(line => line.Length > 0).Select(EpochMetrics.Parse)];
    }

    /// <summary>Reads a metrics.csv.</summary>
    public static IReadOnlyList<EpochMetrics> Read(string path) => Parse(File.ReadAllText(path));

    /// <summary>Replaces <paramref name="path"/> with the rows, atomically.</summary>
    public static void Write(string path, IEnumerable<EpochMetrics> rows)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Format(rows));
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }
}
