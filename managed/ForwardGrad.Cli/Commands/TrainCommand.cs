using System.Globalization;
using ForwardGrad.Cli.Plotting;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Parallel;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad train</c>.</summary>
public sealed class TrainCommand : ICommand<TrainOptions>
{
    /// <inheritdoc />
    public int Run(TrainOptions options, TextWriter output)
    {
        if (ParallelModes.Parse(options.Parallel ?? ParallelModes.None) != ParallelModes.None)
        {
            return ParallelTraining.Run(options, output);
        }

        // Everything is checked and the data loaded before the run folder is touched.
        var (settings, runDirectory, start) = Plan(options);
        DatasetSplits data = DatasetCatalog.Load(settings.Dataset, settings.DataDir);
        return Train(new Trainer(settings, data), settings, data, runDirectory, start, output);
    }

    /// <summary>Runs <paramref name="trainer"/> with the live view or plain lines and prints the final line.</summary>
    internal static int Train(Trainer trainer, TrainerOptions settings, DatasetSplits data, string runDirectory, RunStart start, TextWriter output)
    {
        string title = $"{TrainingMethods.Parse(settings.Method).PaperName()} {Trainer.ModelConfig(settings, data.Train).Name} on {data.Spec.Name}";
        TrainingResult result = LiveTrainingView.IsAvailable(output)
            ? LiveTrainingView.Run((log, progress) => TrainingCurves.RunDrawing(trainer, runDirectory, start, title, log, progress))
            : TrainingCurves.RunDrawing(trainer, runDirectory, start, title, output.WriteLine, null);
        if (result.Failure is not null)
        {
            output.WriteLine($"fgrad: {result.Failure}");
            return ExitCodes.Failure;
        }

        string readout = settings.Loss == LocalLoss.Contrastive.Name() ? " of the linear readout on detached features" : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final test error{readout}: {result.FinalTestError:F2}% ({result.Steps} steps); run folder: {result.RunDirectory}"));
        return ExitCodes.Success;
    }

    /// <summary>The validated settings, the run folder and how the run takes it.</summary>
    internal static (TrainerOptions Settings, string RunDirectory, RunStart Start) Plan(TrainOptions options)
    {
        if (options.Resume is string resume)
        {
            if (options.Out is not null || options.Overwrite)
            {
                throw new ArgumentException("--resume continues the run in its own folder; it takes neither --out nor --overwrite.");
            }

            TrainerOptions recorded = RunConfig.Read(resume);
            // --max-steps stops one invocation: a resume without it runs to the end.
            TrainerOptions requested = options.ApplyTo(recorded with { MaxSteps = null });
            requested.Validate();
            requested = requested.Normalized();
            ResumeOverrides.Check(recorded.Normalized(), requested, resume);
            return (requested, resume, RunStart.Resume);
        }

        TrainerOptions settings = options.ApplyTo(new TrainerOptions());
        settings.Validate();
        settings = settings.Normalized();
        string folder = options.Out ?? Path.Combine("runs",
            $"{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{settings.Method.ToLowerInvariant()}");
        return (settings, folder, options.Overwrite ? RunStart.Overwrite : RunStart.New);
    }
}
