using ForwardGrad.Cli.Plotting;
using ForwardGrad.Experiments;
using ForwardGrad.Model;

namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad repro</c>.</summary>
public sealed class ReproCommand : ICommand<ReproOptions>
{
    /// <inheritdoc />
    public int Run(ReproOptions options, TextWriter output)
    {
        LocalLoss loss = ParseLoss(options);
        var settings = new ReproSettings
        {
            Methods = options.Methods is string methods ? ReproSettings.SplitList(methods)
                : loss == LocalLoss.Contrastive ? ReproSettings.ContrastiveMethods
                : new ReproSettings().Methods,
            Models = ReproSettings.SplitList(options.Models),
            Datasets = ReproSettings.SplitList(options.Datasets),
            LearningRates = string.IsNullOrWhiteSpace(options.LearningRates) ? null : ReproSettings.ParseNumbers(options.LearningRates),
            ValidationFraction = options.ValidationFraction,
            Training = options.ApplyTo(ReproSettings.DefaultTraining).WithThreadCap(out string? note) with { Loss = loss.Name() },
        };
        settings = settings with
        {
            ReadoutEpochs = options.ReadoutEpochs ?? settings.ReadoutEpochs,
            ReadoutLearningRate = options.ReadoutLearningRate ?? settings.ReadoutLearningRate,
        };
        settings.Validate(); // every refusal before the results folder is touched
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
            if (loss == LocalLoss.Contrastive)
            {
                throw new ArgumentException("--variance studies the supervised methods' gradients; it does not take --loss contrastive.");
            }

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

    // --loss supervised (or cross-entropy) | contrastive; the readout options belong to contrastive grids only.
    private static LocalLoss ParseLoss(ReproOptions options)
    {
        LocalLoss loss = options.Loss.Trim().ToLowerInvariant() switch
        {
            "supervised" or "cross-entropy" => LocalLoss.CrossEntropy,
            "contrastive" => LocalLoss.Contrastive,
            _ => throw new ArgumentException($"--loss '{options.Loss}' is not a local loss: use supervised or contrastive."),
        };
        if (loss != LocalLoss.Contrastive && (options.ReadoutEpochs is not null || options.ReadoutLearningRate is not null))
        {
            throw new ArgumentException("--readout-epochs and --readout-lr evaluate contrastive runs: add --loss contrastive, or drop them (a supervised run's final classifier is its readout).");
        }

        return loss;
    }
}
