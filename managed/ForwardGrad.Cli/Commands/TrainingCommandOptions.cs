using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options shared by the verbs that train (<c>train</c>, <c>repro</c>), with the same defaults.</summary>
public abstract class TrainingCommandOptions : CommandOptions
{
    /// <summary>Folder holding one folder per data set.</summary>
    [Option("data-dir", HelpText = "Folder holding one folder per data set (default: $FG_DATA_DIR, else data/).")]
    public string? DataDir { get; set; }

    /// <summary>Tangents K.</summary>
    [Option("tangents", Default = 4, HelpText = "Tangents K per step (forward-gradient methods); stacked in one GEMM.")]
    public int Tangents { get; set; } = 4;

    /// <summary>Batch size.</summary>
    [Option("batch-size", Default = 128, HelpText = "Batch size.")]
    public int BatchSize { get; set; } = 128;

    /// <summary>Warmup epochs.</summary>
    [Option("warmup-epochs", Default = 1.0, HelpText = "Linear warmup length in epochs.")]
    public double WarmupEpochs { get; set; } = 1.0;

    /// <summary>Final classifier's gradient scale in local methods.</summary>
    [Option("last-layer-lr", Default = 0.1, HelpText = "Scale of the final classifier's gradient in the local-greedy methods (LG-BP, LG-FG-W, LG-FG-A).")]
    public double LastLayerLr { get; set; } = 0.1;

    /// <summary>Seed.</summary>
    [Option("seed", Default = 1UL, HelpText = "Seed of initialisation, data order and tangents (and of repro's validation split).")]
    public ulong Seed { get; set; } = 1;

    /// <summary>Device.</summary>
    [Option("device", Default = "cpu", HelpText = "cpu or cuda.")]
    public string Device { get; set; } = "cpu";

    /// <summary>CPU threads.</summary>
    [Option("threads", Default = 0, HelpText = "CPU threads for BLAS and the element-wise loops (0: all usable CPUs, or OPENBLAS_NUM_THREADS).")]
    public int Threads { get; set; }

    /// <summary>Stop after this many steps.</summary>
    [Option("max-steps", HelpText = "Stop after this many steps (smoke runs).")]
    public long? MaxSteps { get; set; }
}
