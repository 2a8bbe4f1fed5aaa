using CommandLine;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary>
/// Options shared by the verbs that train (<c>train</c>, <c>repro</c>). Each is null unless given, so that
/// <see cref="ApplyTo"/> changes only what the command line names; the defaults live in <see cref="TrainerOptions"/>.
/// </summary>
public abstract class TrainingCommandOptions : CommandOptions
{
    /// <summary>Folder holding one folder per data set.</summary>
    [Option("data-dir", HelpText = "Folder holding one folder per data set (default: $FG_DATA_DIR, else data/).")]
    public string? DataDir { get; set; }

    /// <summary>Tangents K.</summary>
    [Option("tangents", HelpText = "Tangents K per step (forward-gradient methods); stacked in one GEMM (default 4).")]
    public int? Tangents { get; set; }

    /// <summary>Batch size.</summary>
    [Option("batch-size", HelpText = "Batch size (default 128).")]
    public int? BatchSize { get; set; }

    /// <summary>Warmup epochs.</summary>
    [Option("warmup-epochs", HelpText = "Linear warmup length in epochs (default 1).")]
    public double? WarmupEpochs { get; set; }

    /// <summary>Final classifier's gradient scale.</summary>
    [Option("last-layer-lr", HelpText = "Scale of the final classifier's gradient, in every method (default 0.1).")]
    public double? LastLayerLr { get; set; }

    /// <summary>Seed.</summary>
    [Option("seed", HelpText = "Seed of initialisation, data order and tangents (and of repro's validation split) (default 1).")]
    public ulong? Seed { get; set; }

    /// <summary>Device.</summary>
    [Option("device", HelpText = "cpu or cuda (default cpu).")]
    public string? Device { get; set; }

    /// <summary>CPU threads.</summary>
    [Option("threads", HelpText = "CPU threads for the GEMM provider and the element-wise loops, for the whole process; at most 4 per CPU (default 0: all usable CPUs, or OPENBLAS_NUM_THREADS).")]
    public int? Threads { get; set; }

    /// <summary>Stop after this many steps.</summary>
    [Option("max-steps", HelpText = "Stop after this many steps in total (smoke runs).")]
    public long? MaxSteps { get; set; }

    /// <summary>Epochs.</summary>
    [Option("epochs", HelpText = "Epochs (default: train 60, repro 5; with --resume the run's own, and a larger value extends it).")]
    public int? Epochs { get; set; }

    /// <summary><paramref name="baseline"/> with every option given on the command line put in.</summary>
    public virtual TrainerOptions ApplyTo(TrainerOptions baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        return baseline with
        {
            DataDir = DataDir ?? baseline.DataDir,
            Tangents = Tangents ?? baseline.Tangents,
            BatchSize = BatchSize ?? baseline.BatchSize,
            WarmupEpochs = WarmupEpochs ?? baseline.WarmupEpochs,
            LastLayerLr = LastLayerLr ?? baseline.LastLayerLr,
            Seed = Seed ?? baseline.Seed,
            Device = Device ?? baseline.Device,
            Threads = Threads ?? baseline.Threads,
            MaxSteps = MaxSteps ?? baseline.MaxSteps,
            Epochs = Epochs ?? baseline.Epochs,
        };
    }
}
