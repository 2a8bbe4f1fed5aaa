using System.Globalization;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad eval</c>.</summary>
public sealed class EvalCommand : ICommand<EvalOptions>
{
    /// <inheritdoc />
    public int Run(EvalOptions options, TextWriter output)
    {
        new TrainerOptions { Threads = options.Threads, Device = options.Device }.Validate();
        int threads = TrainerOptions.CapThreads(options.Threads, out string? note);
        if (note is not null)
        {
            output.WriteLine($"warning: {note}");
        }

        string path = Directory.Exists(options.Checkpoint) ? Path.Combine(options.Checkpoint, RunFolder.CheckpointFileName) : options.Checkpoint;
        Checkpoint checkpoint = Checkpoint.Load(path);
        LocalMixerConfig config = checkpoint.Config;
        string dataset = options.Dataset ?? checkpoint.Metadata.GetValueOrDefault("dataset") ?? "mnist-sample";
        DatasetSplits data = DatasetCatalog.Load(dataset, options.DataDir);
        checkpoint.RequireInputOf(data.Test, data.Spec.Name);
        using Context context = Trainer.CreateContext(options.Device, threads);
        using var model = new LocalMixer(context, config);
        checkpoint.ApplyTo(model);
        // The statistics the model was trained with; a checkpoint without them gets the data set's.
        double error = Trainer.Evaluate(model, data.Test, checkpoint.Normalization ?? data.Normalization);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{checkpoint.Method ?? "?"} {config.Name} step {checkpoint.Step} on {data.Spec.Name} ({data.Test.Count} test images): test error {error:F2}%"));
        return ExitCodes.Success;
    }
}
