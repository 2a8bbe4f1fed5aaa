using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of <c>fgrad train</c>. With none it runs the main job: LG-FG-A, M/1/16 on mnist-sample, CPU.</summary>
[Verb("train", HelpText = "Train a LocalMixer (default: LG-FG-A, M/1/16 on mnist-sample, CPU) and print the final test error.")]
public sealed class TrainOptions : TrainingCommandOptions
{
    /// <summary>Data set name.</summary>
    [Option("dataset", Default = "mnist-sample", HelpText = "mnist-sample, mnist, fashion-mnist or cifar10.")]
    public string Dataset { get; set; } = "mnist-sample";

    /// <summary>TF32 GEMMs on CUDA.</summary>
    [Option("tf32", HelpText = "CUDA: run GEMMs on TF32 tensor cores (faster; ~1e-3 relative error per product).")]
    public bool Tf32 { get; set; }

    /// <summary>Model preset.</summary>
    [Option("model", Default = "M/1/16", HelpText = "S/1/1, M/1/16, M/8/16, L/8/64 or L/32/64.")]
    public string Model { get; set; } = "M/1/16";

    /// <summary>Training method.</summary>
    [Option("method", Default = "LG-FG-A", HelpText = "BP, L-BP, LG-BP, FG-W, FG-A, LG-FG-W or LG-FG-A.")]
    public string Method { get; set; } = "LG-FG-A";

    /// <summary>Epochs.</summary>
    [Option("epochs", HelpText = "Epochs (default 30; with --resume: the run's own).")]
    public int? Epochs { get; set; }

    /// <summary>Peak learning rate.</summary>
    [Option("lr", Default = 0.1, HelpText = "Peak learning rate.")]
    public double LearningRate { get; set; } = 0.1;

    /// <summary>Optimizer.</summary>
    [Option("optimizer", Default = "sgd", HelpText = "sgd or adamw.")]
    public string Optimizer { get; set; } = "sgd";

    /// <summary>SGD momentum.</summary>
    [Option("momentum", Default = 0.9, HelpText = "SGD momentum.")]
    public double Momentum { get; set; } = 0.9;

    /// <summary>Weight decay.</summary>
    [Option("weight-decay", Default = 1e-4, HelpText = "Weight decay on weights (not biases).")]
    public double WeightDecay { get; set; } = 1e-4;

    /// <summary>Schedule.</summary>
    [Option("schedule", Default = "cosine", HelpText = "constant, linear or cosine (after warmup).")]
    public string Schedule { get; set; } = "cosine";

    /// <summary>Block heads' gradient scale.</summary>
    [Option("head-lr", Default = 1.0, HelpText = "Scale of the local heads' gradients.")]
    public double HeadLr { get; set; } = 1.0;

    /// <summary>Run folder.</summary>
    [Option("out", HelpText = "Run folder (default runs/<timestamp>-<method>).")]
    public string? Out { get; set; }

    /// <summary>Run folder to continue.</summary>
    [Option("resume", HelpText = "Continue the run in this folder (its config.json and checkpoint.safetensors).")]
    public string? Resume { get; set; }

}
