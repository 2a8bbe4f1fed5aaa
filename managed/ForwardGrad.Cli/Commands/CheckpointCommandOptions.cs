using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of the verbs that open a checkpoint on a data set (eval, readout).</summary>
public abstract class CheckpointCommandOptions : CommandOptions
{
    /// <summary>Checkpoint file (or run folder).</summary>
    [Option("checkpoint", Required = true, HelpText = "checkpoint.safetensors file, or a run folder holding one.")]
    public string Checkpoint { get; set; } = "";

    /// <summary>Data set (default: the checkpoint's).</summary>
    [Option("dataset", HelpText = "Data set (default: the one the checkpoint was trained on).")]
    public string? Dataset { get; set; }

    /// <summary>Folder holding one folder per data set.</summary>
    [Option("data-dir", HelpText = "Folder holding one folder per data set.")]
    public string? DataDir { get; set; }

    /// <summary>Device.</summary>
    [Option("device", Default = "cpu", HelpText = "cpu or cuda.")]
    public string Device { get; set; } = "cpu";

    /// <summary>CPU threads.</summary>
    [Option("threads", Default = 0, HelpText = "CPU threads for the GEMM provider and the element-wise loops, for the whole process; at most 4 per CPU (0: all usable CPUs, or OPENBLAS_NUM_THREADS).")]
    public int Threads { get; set; }
}
