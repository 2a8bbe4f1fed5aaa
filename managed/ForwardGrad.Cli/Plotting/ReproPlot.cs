using System.Globalization;
using ForwardGrad.Experiments;
using ForwardGrad.IO;
using ForwardGrad.Model;
using ScottPlot;

namespace ForwardGrad.Cli.Plotting;

/// <summary>Draws test_error.png of <c>fgrad repro</c>: the test error of each method's chosen run, one bar per column.</summary>
public static class ReproPlot
{
    /// <summary>The file name of the bar chart in a repro folder.</summary>
    public const string FileName = "test_error.png";

    /// <summary>Writes the bar chart of <paramref name="records"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, ReproSettings settings, IReadOnlyList<RunRecord> records)
    {
        var chosen = BestRunSelector.Select(records);
        var columns = ReproReport.Columns(settings);
        var methods = settings.ParsedMethods().Select(m => m.PaperName()).ToList();
        var plot = new Plot();
        plot.Title(settings.Loss == LocalLoss.Contrastive ? "Linear readout test error of the run chosen by validation" : "Test error of the run chosen by validation");
        plot.Axes.Left.Label.Text = "test error (%)";
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        double top = records.Where(r => !r.Diverged && double.IsFinite(r.ReportedTestError)).Select(r => r.ReportedTestError).DefaultIfEmpty(10).Max();
        for (int m = 0; m < methods.Count; m++)
        {
            double centre = m * (columns.Count + 1);
            ticks.Add(new Tick(centre + (columns.Count - 1) / 2.0, methods[m], true));
            for (int c = 0; c < columns.Count; c++)
            {
                double x = centre + c;
                if (!chosen.TryGetValue((methods[m], columns[c].Model, columns[c].Dataset), out RunRecord? r))
                {
                    continue;
                }

                if (r.Diverged || !double.IsFinite(r.ReportedTestError))
                {
                    var label = plot.Add.Text("diverged", x, top * 0.02);
                    label.LabelRotation = -90;
                    label.LabelFontSize = 10;
                    continue;
                }

                bars.Add(new Bar { Position = x, Value = r.ReportedTestError, FillColor = Palette(c), Label = r.ReportedTestError.ToString("F1", CultureInfo.InvariantCulture) });
            }
        }

        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 10;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Margins(bottom: 0, top: 0.3);
        for (int c = 0; c < columns.Count; c++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"{columns[c].Dataset} {columns[c].Model}", FillColor = Palette(c) });
        }

        plot.Legend.Alignment = Alignment.UpperLeft;
        plot.ShowLegend();
        byte[] png = plot.GetImageBytes(Math.Max(800, methods.Count * (columns.Count + 1) * 40), 500, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    private static Color Palette(int index) => new ScottPlot.Palettes.Category10().GetColor(index);
}
