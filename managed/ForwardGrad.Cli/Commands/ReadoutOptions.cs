using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of <c>fgrad readout</c>.</summary>
[Verb("readout", HelpText = "Train a fresh linear classifier on a checkpoint's frozen features and print its test error: readout --checkpoint DIR [--epochs N].")]
public sealed class ReadoutOptions : CheckpointCommandOptions
{
    /// <summary>Readout epochs.</summary>
    [Option("epochs", Default = 10, HelpText = "Epochs of readout training (default 10).")]
    public int Epochs { get; set; } = 10;

    /// <summary>Readout learning rate.</summary>
    [Option("lr", Default = 0.1, HelpText = "SGD learning rate of the readout, momentum 0.9, constant (default 0.1).")]
    public double LearningRate { get; set; } = 0.1;

    /// <summary>Batch size.</summary>
    [Option("batch-size", Default = 100, HelpText = "Batch size, even (default 100).")]
    public int BatchSize { get; set; } = 100;

    /// <summary>Seed of the data order.</summary>
    [Option("seed", Default = 1UL, HelpText = "Seed of the data order (default 1).")]
    public ulong Seed { get; set; } = 1;
}
