using ForwardGrad.IO;
using ScottPlot;
using ScottPlot.Plottables;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Plotting;

/// <summary>Draws a run's learning curves (curves.png): train and test error and train loss per epoch.</summary>
public static class TrainingCurves
{
    /// <summary>The file name of the plot in a run folder.</summary>
    public const string FileName = "curves.png";

    /// <summary>
    /// Writes a PNG of <paramref name="rows"/> to <paramref name="path"/> atomically: train and test error (percent)
    /// in the upper panel, train loss in the lower one. Where an epoch has several rows (a partial one before a
    /// resume), the last counts.
    /// </summary>
    public static void Save(string path, IEnumerable<EpochMetrics> rows, string title, int width = 900, int height = 720)
    {
        ArgumentNullException.ThrowIfNull(rows);
        EpochMetrics[] points = rows.GroupBy(r => r.Epoch).Select(g => g.Last()).OrderBy(r => r.Epoch).ToArray();
        double[] epochs = points.Select(r => (double)r.Epoch).ToArray();

        Plot errors = Panel("error (%)");
        Plot loss = Panel("train loss");
        var figure = new Multiplot(errors) { Layout = new ScottPlot.MultiplotLayouts.Rows() };
        figure.AddPlot(loss);
        errors.Title(title);
        AddLine(errors, epochs, points.Select(r => r.TrainError), "train error", Colors.C0);
        AddLine(errors, epochs, points.Select(r => r.TestError), "test error", Colors.C1);
        loss.XLabel("epoch");
        AddLine(loss, epochs, points.Select(r => r.TrainLoss), "train loss", Colors.C2);
        figure.SharedAxes.ShareX([errors, loss]);

        byte[] png = figure.Render(width, height).GetImageBytes(ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    /// <summary>At most one redraw in this interval while a run goes on: drawing costs about as much as a small
    /// model's epoch, and a watcher needs no more.</summary>
    public static readonly TimeSpan RedrawInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs <paramref name="trainer"/> and redraws curves.png in <paramref name="runDirectory"/> from the whole
    /// metrics.csv: after the first epoch, then at most every <see cref="RedrawInterval"/>, and once more when the run
    /// ends. A plot that fails is a warning in <paramref name="log"/>, not a failed run.
    /// </summary>
    public static TrainingResult RunDrawing(Trainer trainer, string runDirectory, RunStart start, string title,
        Action<string> log, IProgress<TrainingProgress>? progress)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        string path = Path.Combine(runDirectory, FileName);
        var sinceDraw = System.Diagnostics.Stopwatch.StartNew();
        bool drawn = false, pending = false;
        void Draw()
        {
            try
            {
                Save(path, ReadMetrics(Path.Combine(runDirectory, "metrics.csv")), title);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                log($"warning: could not draw {path}: {exception.GetBaseException().Message}");
            }

            drawn = true;
            pending = false;
            sinceDraw.Restart();
        }

        void OnEpoch(EpochMetrics row)
        {
            pending = true;
            if (!drawn || sinceDraw.Elapsed >= RedrawInterval)
            {
                Draw();
            }
        }

        trainer.EpochCompleted += OnEpoch;
        try
        {
            TrainingResult result = trainer.Run(runDirectory, start, log, progress);
            if (pending)
            {
                Draw();
            }

            return result;
        }
        finally
        {
            trainer.EpochCompleted -= OnEpoch;
        }
    }

    /// <summary>Reads the rows of a metrics.csv written by <see cref="Trainer"/>.</summary>
    public static IReadOnlyList<EpochMetrics> ReadMetrics(string path) => MetricsFile.Read(path);

    private static Plot Panel(string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set(Fonts.Sans);
        plot.YLabel(yLabel);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Legend.Alignment = Alignment.UpperRight;
        plot.ShowLegend();
        return plot;
    }

    private static void AddLine(Plot plot, double[] xs, IEnumerable<double> ys, string label, Color color)
    {
        Scatter line = plot.Add.Scatter(xs, ys.ToArray(), color);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = 6;
    }
}
