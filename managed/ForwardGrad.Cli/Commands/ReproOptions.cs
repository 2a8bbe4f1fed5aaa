using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of <c>fgrad repro</c>: the paper's comparison as a grid, or (with --variance) the gradient-variance study.</summary>
[Verb("repro", HelpText = "Reproduce the paper's Table 3: a grid of methods x models x data sets x learning rates, the lr of each chosen on a held-out validation split; writes results.md, runs.csv and test_error.png. With --variance: the gradient cosine study (variance.md, variance.csv).")]
public sealed class ReproOptions : TrainingCommandOptions
{
    /// <summary>Methods; null: the default of the loss.</summary>
    [Option("methods", HelpText = "Comma-separated methods: BP, L-BP, LG-BP, FG-W, FG-A, LG-FG-W, LG-FG-A and the feedback-alignment baselines FA, L-FA, LG-FA, DFA (default BP,L-BP,LG-BP,FG-W,FG-A,LG-FG-W,LG-FG-A; with --loss contrastive BP,LG-BP,LG-FG-A, and only BP, L-BP, LG-BP, LG-FG-A train it).")]
    public string? Methods { get; set; }

    /// <summary>Local losses of the grid.</summary>
    [Option("loss", Default = "supervised", HelpText = "supervised (cross-entropy local losses, the default) or contrastive: self-supervised local losses between two augmented views of each image, each run then evaluated by a linear readout trained on its frozen features (--readout-epochs, --readout-lr).")]
    public string Loss { get; set; } = "supervised";

    /// <summary>Readout epochs; null: the default (contrastive grids only).</summary>
    [Option("readout-epochs", HelpText = "--loss contrastive: epochs of the linear readout trained on each run's frozen features (default 10).")]
    public int? ReadoutEpochs { get; set; }

    /// <summary>Readout learning rate; null: the default (contrastive grids only).</summary>
    [Option("readout-lr", HelpText = "--loss contrastive: SGD learning rate of the readout, momentum 0.9, constant (default 0.1).")]
    public double? ReadoutLearningRate { get; set; }

    /// <summary>Models.</summary>
    [Option("models", Default = "S/1/1,M/1/16", HelpText = "Comma-separated model presets.")]
    public string Models { get; set; } = "S/1/1,M/1/16";

    /// <summary>Data sets.</summary>
    [Option("datasets", Default = "mnist-sample", HelpText = "Comma-separated data sets (mnist-sample, mnist, fashion-mnist, cifar10).")]
    public string Datasets { get; set; } = "mnist-sample";

    /// <summary>Learning rates.</summary>
    [Option("lrs", HelpText = "Comma-separated learning rates swept for every method (default: a 3-value sweep per method: BP/L-BP/LG-BP 0.03,0.1,0.3; FG-A 0.01,0.03,0.1; LG-FG-A 0.03,0.1,0.3; FG-W/LG-FG-W 0.01,0.03,0.1).")]
    public string? LearningRates { get; set; }

    /// <summary>Earlier results folder whose validation-chosen learning rates to reuse.</summary>
    [Option("lrs-from", HelpText = "Results folder of an earlier grid: run each method only at the learning rate its validation chose there (same model if present), instead of a sweep.")]
    public string? LearningRatesFrom { get; set; }

    /// <summary>Validation fraction.</summary>
    [Option("val-fraction", Default = 0.1, HelpText = "Fraction of the training set held out to choose the learning rate.")]
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Output folder.</summary>
    [Option("out", Default = "repro", HelpText = "Results folder; running again with the same folder skips the runs already in its runs.csv.")]
    public string Out { get; set; } = "repro";

    /// <summary>Variance study instead of the grid.</summary>
    [Option("variance", HelpText = "Run the gradient-variance study (cosine with the exact gradient of each method's own objective) instead of the grid.")]
    public bool Variance { get; set; }

    /// <summary>Batches averaged.</summary>
    [Option("variance-batches", Default = 10, HelpText = "--variance: batches the cosines are averaged over.")]
    public int VarianceBatches { get; set; } = 10;

    /// <summary>Tangent counts.</summary>
    [Option("variance-tangents", Default = "1,2,4,8", HelpText = "--variance: tangent counts K to compare.")]
    public string VarianceTangents { get; set; } = "1,2,4,8";

    /// <summary>BP steps before the second measurement.</summary>
    [Option("variance-steps", Default = 100, HelpText = "--variance: also measure after this many BP steps from the initialisation (0: at initialisation only).")]
    public int VarianceSteps { get; set; } = 100;

    /// <summary>Epochs of the K runs.</summary>
    [Option("variance-epochs", Default = 2, HelpText = "--variance: epochs of the LG-FG-A runs, one per K, that measure test error (0: skip them).")]
    public int VarianceEpochs { get; set; } = 2;

    /// <summary>lr of the K runs.</summary>
    [Option("variance-lr", Default = 0.1, HelpText = "--variance: learning rate of the LG-FG-A runs per K.")]
    public double VarianceLearningRate { get; set; } = 0.1;
}
