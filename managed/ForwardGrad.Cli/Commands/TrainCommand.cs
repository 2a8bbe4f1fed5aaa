using System.Globalization;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad train</c>.</summary>
public sealed class TrainCommand : ICommand<TrainOptions>
{
    /// <summary>Default epochs of the main job.</summary>
    public const int DefaultEpochs = 30;

    /// <inheritdoc />
    public int Run(TrainOptions options, TextWriter output)
    {
        TrainerOptions settings;
        string runDirectory;
        Checkpoint? resume = null;
        if (options.Resume is not null)
        {
            runDirectory = options.Resume;
            settings = Trainer.ReadConfig(runDirectory) with { MaxSteps = options.MaxSteps };
            if (options.Epochs is int epochs)
            {
                settings = settings with { Epochs = epochs };
            }

            resume = Checkpoint.Load(Path.Combine(runDirectory, "checkpoint.safetensors"));
        }
        else
        {
            TrainingMethod method = TrainingMethods.Parse(options.Method);
            settings = new TrainerOptions
            {
                Dataset = options.Dataset,
                DataDir = options.DataDir,
                Model = options.Model,
                Method = method.PaperName(),
                Tangents = options.Tangents,
                Epochs = options.Epochs ?? DefaultEpochs,
                BatchSize = options.BatchSize,
                LearningRate = options.LearningRate,
                Optimizer = options.Optimizer,
                Momentum = options.Momentum,
                WeightDecay = options.WeightDecay,
                Schedule = options.Schedule,
                WarmupEpochs = options.WarmupEpochs,
                HeadLr = options.HeadLr,
                LastLayerLr = options.LastLayerLr,
                Seed = options.Seed,
                Device = options.Device,
                Threads = options.Threads,
                Tf32 = options.Tf32,
                MaxSteps = options.MaxSteps,
            };
            runDirectory = options.Out ?? Path.Combine("runs",
                $"{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{method.PaperName().ToLowerInvariant()}");
        }

        DatasetSplits data = DatasetCatalog.Load(settings.Dataset, settings.DataDir);
        var trainer = new Trainer(settings, data);
        TrainingResult result = LiveTrainingView.IsAvailable(output)
            ? LiveTrainingView.Run((log, progress) => trainer.Run(runDirectory, resume, log, progress))
            : trainer.Run(runDirectory, resume, output.WriteLine);
        if (result.Failure is not null)
        {
            output.WriteLine($"fgrad: {result.Failure}");
            return ExitCodes.Failure;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final test error: {result.FinalTestError:F2}% ({result.Steps} steps); run folder: {result.RunDirectory}"));
        return ExitCodes.Success;
    }
}
