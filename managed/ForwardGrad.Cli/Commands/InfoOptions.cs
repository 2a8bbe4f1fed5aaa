using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of <c>fgrad info</c>.</summary>
[Verb("info", HelpText = "Show the native library version, its ABI, the backends available here and the CPU GEMM; with --model, a preset's parameter table.")]
public sealed class InfoOptions : CommandOptions
{
    /// <summary>Model preset whose parameter table to print, or null for the library information.</summary>
    [Option("model", HelpText = "Print the parameter tensors and total parameter count of this preset (S/1/1, M/1/16, M/8/16, L/8/64, L/32/64) or custom model (C=256,G=8,blocks=4,grid=7; 28x28 images unless --dataset says otherwise).")]
    public string? Model { get; set; }

    /// <summary>Data set whose image shape and classes the model is built for (null: the preset's own).</summary>
    [Option("dataset", HelpText = "With --model: build the model for this data set's shapes (mnist-sample, mnist, fashion-mnist, cifar10, imagenet); default: the preset's own (mnist for S/1/1 and M/1/16, cifar10 for M/8/16 and L/8/64, imagenet for L/32/64). No data is read.")]
    public string? Dataset { get; set; }
}
