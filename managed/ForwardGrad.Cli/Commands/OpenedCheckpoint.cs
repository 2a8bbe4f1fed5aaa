using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary>A checkpoint loaded into a model in its own context, with the data set to evaluate on (eval, readout).</summary>
internal sealed class OpenedCheckpoint : IDisposable
{
    private readonly Context _context;

    private OpenedCheckpoint(Checkpoint checkpoint, DatasetSplits data, Context context, LocalMixer model)
    {
        Checkpoint = checkpoint;
        Data = data;
        _context = context;
        Model = model;
    }

    public Checkpoint Checkpoint { get; }

    public DatasetSplits Data { get; }

    public LocalMixer Model { get; }

    /// <summary>The statistics the model was trained with; a checkpoint without them gets the data set's.</summary>
    public ChannelStats Normalization => Checkpoint.Normalization ?? Data.Normalization;

    /// <summary>
    /// Loads the checkpoint (a file or a run folder) and the data set (default: the checkpoint's) the options name, checks
    /// that they fit, and builds the model on their device; a lowered thread count is reported on <paramref name="output"/>.
    /// </summary>
    public static OpenedCheckpoint Open(CheckpointCommandOptions options, TextWriter output)
    {
        string path = options.Checkpoint, device = options.Device;
        string? dataset = options.Dataset, dataDir = options.DataDir;
        int threads = options.Threads;
        new TrainerOptions { Threads = threads, Device = device }.Validate();
        int capped = TrainerOptions.CapThreads(threads, out string? note);
        if (note is not null)
        {
            output.WriteLine($"warning: {note}");
        }

        string file = Directory.Exists(path) ? Path.Combine(path, RunFolder.CheckpointFileName) : path;
        Checkpoint checkpoint = Checkpoint.Load(file);
        LocalMixerConfig config = checkpoint.Config;
        DatasetSplits data = DatasetCatalog.Load(dataset ?? checkpoint.Metadata.GetValueOrDefault("dataset") ?? "mnist-sample", dataDir);
        checkpoint.RequireInputOf(data.Test, data.Spec.Name);
        Context context = Trainer.CreateContext(device, capped);
        try
        {
            var model = new LocalMixer(context, config);
            checkpoint.ApplyTo(model);
            return new OpenedCheckpoint(checkpoint, data, context, model);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        _context.Dispose();
    }
}
