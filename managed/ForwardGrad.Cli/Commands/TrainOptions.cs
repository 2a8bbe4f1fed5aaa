using CommandLine;
using ForwardGrad.Parallel;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of <c>fgrad train</c>. With none it runs the main job: LG-FG-A, M/1/16 on mnist-sample, CPU.</summary>
[Verb("train", HelpText = "Train a LocalMixer (default: LG-FG-A, M/1/16 on mnist-sample, CPU) and print the final test error.")]
public sealed class TrainOptions : TrainingCommandOptions
{
    /// <summary>Data set name.</summary>
    [Option("dataset", HelpText = "mnist-sample, mnist, fashion-mnist or cifar10 (default mnist-sample).")]
    public string? Dataset { get; set; }

    /// <summary>TF32 GEMMs on CUDA.</summary>
    [Option("tf32", HelpText = "CUDA: run GEMMs on TF32 tensor cores (faster; ~1e-3 relative error per product).")]
    public bool Tf32 { get; set; }

    /// <summary>Model preset.</summary>
    [Option("model", HelpText = "S/1/1, M/1/16, M/8/16, L/8/64, L/32/64, or a custom model C=256,G=8,blocks=4,grid=7 (the grid must divide the image size) (default M/1/16).")]
    public string? Model { get; set; }

    /// <summary>Training method.</summary>
    [Option("method", HelpText = "BP, L-BP, LG-BP, FG-W, FG-A, LG-FG-W, LG-FG-A, FA, L-FA, LG-FA or DFA (default LG-FG-A).")]
    public string? Method { get; set; }

    /// <summary>Local loss.</summary>
    [Option("loss", HelpText = "cross-entropy, or contrastive: self-supervised local losses between two augmented views of each image, for LG-FG-A and BP/L-BP/LG-BP on 28x28 or CIFAR-10 data; the final classifier is a linear readout on detached features (default cross-entropy).")]
    public string? Loss { get; set; }

    /// <summary>Peak learning rate.</summary>
    [Option("lr", HelpText = "Peak learning rate (default 0.1).")]
    public double? LearningRate { get; set; }

    /// <summary>Optimizer.</summary>
    [Option("optimizer", HelpText = "sgd or adamw (default sgd).")]
    public string? Optimizer { get; set; }

    /// <summary>SGD momentum.</summary>
    [Option("momentum", HelpText = "SGD momentum (default 0.9).")]
    public double? Momentum { get; set; }

    /// <summary>Weight decay.</summary>
    [Option("weight-decay", HelpText = "Weight decay on weights, not biases (default 0.0001).")]
    public double? WeightDecay { get; set; }

    /// <summary>Schedule.</summary>
    [Option("schedule", HelpText = "constant, linear or cosine, after the warmup (default cosine).")]
    public string? Schedule { get; set; }

    /// <summary>Block heads' gradient scale.</summary>
    [Option("head-lr", HelpText = "Scale of the local heads' gradients (default 1).")]
    public double? HeadLr { get; set; }

    /// <summary>Parameter initialisation.</summary>
    [Option("init", HelpText = "official (weights N(0, s^2), s = min(2/sqrt(fan_in), 0.1); biases and final classifier 0) or pytorch (nn.Linear's default: every weight and bias uniform in +-1/sqrt(fan_in)) (default official).")]
    public string? Init { get; set; }

    /// <summary>LN before each linear layer.</summary>
    [Option("pre-linear-ln", HelpText = "LayerNorm before each linear layer too (per group before the group layer).")]
    public bool PreLinearLn { get; set; }

    /// <summary>LN before each local loss.</summary>
    [Option("inter-ln", HelpText = "LayerNorm per group on each block's output, read only by its local loss.")]
    public bool InterLn { get; set; }

    /// <summary>LN before the final classifier.</summary>
    [Option("final-ln", HelpText = "LayerNorm over the channels of the patch mean, before the final classifier.")]
    public bool FinalLn { get; set; }

    /// <summary>LG-FG-W channel-layer slicing.</summary>
    [Option("channel-slices", HelpText = "LG-FG-W's channel-layer estimate: sum (scaled by the sum over groups; unbiased) or group (sliced per group, as the official code) (default sum).")]
    public string? ChannelSlices { get; set; }

    /// <summary>Run folder.</summary>
    [Option("out", HelpText = "Run folder for a new run (default runs/<timestamp>-<method>); refused if it already holds a run.")]
    public string? Out { get; set; }

    /// <summary>Run folder to continue.</summary>
    [Option("resume", HelpText = "Continue the run in this folder. It may change only --data-dir, --device, --threads, --parallel (and the number of ranks), --comm-timeout, --max-steps and (to extend) --epochs.")]
    public string? Resume { get; set; }

    /// <summary>Replace the run in --out.</summary>
    [Option("overwrite", HelpText = "Start a new run in --out even if it holds one; the old files are moved to a replaced-<timestamp> subfolder.")]
    public bool Overwrite { get; set; }

    /// <summary>Parallel mode.</summary>
    [Option("parallel", HelpText = "none; data: data parallel over the ranks of mpirun -np N (each rank trains on its shard of every batch); pipeline: block pipeline (each rank trains a range of blocks and passes its activations on; LG-BP, LG-FA, LG-FG-A, LG-FG-W only). Rank 0 writes the run folder (default none).")]
    public string? Parallel { get; set; }

    /// <summary>Time limit of one exchange between ranks.</summary>
    [Option("comm-timeout", HelpText = "Seconds a rank waits for the others in one exchange before it reports them as failed and ends the job (default 120).")]
    public double? CommTimeout { get; set; }

    /// <inheritdoc />
    public override TrainerOptions ApplyTo(TrainerOptions baseline)
    {
        TrainerOptions shared = base.ApplyTo(baseline);
        return shared with
        {
            Dataset = Dataset ?? shared.Dataset,
            Model = Model ?? shared.Model,
            Method = Method ?? shared.Method,
            Loss = Loss ?? shared.Loss,
            LearningRate = LearningRate ?? shared.LearningRate,
            Optimizer = Optimizer ?? shared.Optimizer,
            Momentum = Momentum ?? shared.Momentum,
            WeightDecay = WeightDecay ?? shared.WeightDecay,
            Schedule = Schedule ?? shared.Schedule,
            HeadLr = HeadLr ?? shared.HeadLr,
            Tf32 = Tf32 || shared.Tf32,  // a flag: given, it turns TF32 on; absent, the run's own setting stays
            PreLinearLayerNorm = PreLinearLn || shared.PreLinearLayerNorm,  // flags as --tf32
            InterLayerNorm = InterLn || shared.InterLayerNorm,
            FinalLayerNorm = FinalLn || shared.FinalLayerNorm,
            ChannelSlices = ChannelSlices ?? shared.ChannelSlices,
            Init = Init ?? shared.Init,
            // How this invocation runs, never inherited by a resume: the ranks it was started with decide.
            Parallel = Parallel ?? ParallelModes.None,
            Ranks = 1,
            CommTimeout = CommTimeout ?? shared.CommTimeout,
        };
    }
}
