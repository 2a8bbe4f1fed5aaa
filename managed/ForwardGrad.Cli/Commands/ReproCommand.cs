using ForwardGrad.Cli.Plotting;
using ForwardGrad.Experiments;

namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad repro</c>.</summary>
public sealed class ReproCommand : ICommand<ReproOptions>
{
    /// <inheritdoc />
    public int Run(ReproOptions options, TextWriter output)
    {
        var settings = new ReproSettings
        {
            Methods = ReproSettings.SplitList(options.Methods),
            Models = ReproSettings.SplitList(options.Models),
            Datasets = ReproSettings.SplitList(options.Datasets),
            LearningRates = string.IsNullOrWhiteSpace(options.LearningRates) ? null : ReproSettings.ParseNumbers(options.LearningRates),
            ValidationFraction = options.ValidationFraction,
            Training = options.ApplyTo(ReproSettings.DefaultTraining).WithThreadCap(out string? note),
        };
        if (note is not null)
        {
            output.WriteLine($"warning: {note}");
        }

        if (options.LearningRatesFrom is string from)
        {
            string csv = Path.Combine(from, ReproRunner.RunsFile);
            IReadOnlyList<RunRecord> earlier = RunRecord.ReadAll(csv);
            if (earlier.Count == 0)
            {
                throw new FileNotFoundException($"--lrs-from: {csv} has no runs.", csv);
            }

            settings = settings with { LearningRatesByMethod = ReproSettings.FromChosen(earlier, settings.Models[0]) };
        }

        if (options.Variance)
        {
            var study = new VarianceSettings
            {
                Batches = options.VarianceBatches,
                Tangents = [.. ReproSettings.ParseNumbers(options.VarianceTangents).Select(k => (int)k)],
                TrainedSteps = options.VarianceSteps,
                TangentRunEpochs = options.VarianceEpochs,
                TangentRunLearningRate = options.VarianceLearningRate,
            };
            new VarianceStudy(settings, study).Run(options.Out, output);
            return ExitCodes.Success;
        }

        IReadOnlyList<RunRecord> records = new ReproRunner(settings).RunGrid(options.Out, output);
        string plot = Path.Combine(options.Out, ReproPlot.FileName);
        ReproPlot.Save(plot, settings, records);
        output.WriteLine($"plot: {plot}");
        return ExitCodes.Success;
    }
}
