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
        string path = Directory.Exists(options.Checkpoint) ? Path.Combine(options.Checkpoint, "checkpoint.safetensors") : options.Checkpoint;
        Checkpoint checkpoint = Checkpoint.Load(path);
        string dataset = options.Dataset ?? (checkpoint.Metadata.TryGetValue("dataset", out string? name) ? name : "mnist-sample");
        DatasetSplits data = DatasetCatalog.Load(dataset, options.DataDir);
        LocalMixerConfig config = checkpoint.Config;
        ArgumentOutOfRangeException.ThrowIfNegative(options.Threads);
        using Context context = Trainer.CreateContext(options.Device, options.Threads);
        using var model = new LocalMixer(context, config);
        checkpoint.ApplyTo(model);
        double error = Trainer.Evaluate(model, data.Test, data.Normalization);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{checkpoint.Metadata.GetValueOrDefault("method", "?")} {config.Name} step {checkpoint.GetLong("step")} on {data.Spec.Name} ({data.Test.Count} test images): test error {error:F2}%"));
        return ExitCodes.Success;
    }
}
