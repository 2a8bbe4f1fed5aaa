using System.Globalization;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Optim;
using ForwardGrad.Parallel;

namespace ForwardGrad.Training;

/// <summary>
/// Everything a training run is made of, with the documented defaults of <c>fgrad train</c> (LG-FG-A, M/1/16 on
/// mnist-sample, K = 4, batch 128, SGD momentum 0.9, lr 0.1 with one warm-up epoch and cosine decay, 30 epochs).
/// The CLI, <see cref="Trainer"/> and <c>fgrad repro</c> all start from these values; config.json records them
/// (snake_case keys).
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Data set name (mnist-sample, mnist, fashion-mnist, cifar10).</summary>
    public string Dataset { get; init; } = "mnist-sample";

    /// <summary>Folder holding one folder per data set (null: FG_DATA_DIR or data/).</summary>
    public string? DataDir { get; init; }

    /// <summary>Model preset (S/1/1, M/1/16, M/8/16, L/8/64, L/32/64) or a custom model such as C=256,G=8,blocks=4,grid=7 (<see cref="ModelSpec"/>).</summary>
    public string Model { get; init; } = "M/1/16";

    /// <summary>Training method, paper name.</summary>
    public string Method { get; init; } = "LG-FG-A";

    /// <summary>The blocks' local losses: "cross-entropy" or "contrastive" (two views per image; LG-FG-A and the backprop family).</summary>
    public string Loss { get; init; } = "cross-entropy";

    /// <summary>Tangents K per step (forward-gradient methods), stacked in one GEMM.</summary>
    public int Tangents { get; init; } = 4;

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 60;

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>sgd or adamw.</summary>
    public string Optimizer { get; init; } = "sgd";

    /// <summary>SGD momentum, in [0, 1).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (weights only).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>constant, linear or cosine (after the warm-up).</summary>
    public string Schedule { get; init; } = "cosine";

    /// <summary>Linear warm-up length in epochs (may be fractional).</summary>
    public double WarmupEpochs { get; init; } = 1;

    /// <summary>Scale of the block heads' gradients.</summary>
    public double HeadLr { get; init; } = 1.0;

    /// <summary>Scale of the final classifier's gradient, in every method.</summary>
    public double LastLayerLr { get; init; } = 0.1;

    /// <summary>LayerNorm before each linear layer too (per group before the group layer).</summary>
    public bool PreLinearLayerNorm { get; init; }

    /// <summary>LayerNorm per group on each block's output, read only by its local loss.</summary>
    public bool InterLayerNorm { get; init; }

    /// <summary>LayerNorm over the channels of the patch mean, before the final classifier.</summary>
    public bool FinalLayerNorm { get; init; }

    /// <summary>Parameter initialisation: "official" (the official code's) or "pytorch" (nn.Linear's default).</summary>
    public string Init { get; init; } = "official";

    /// <summary>LG-FG-W's channel-layer estimate: "sum" (scaled by the sum over groups; unbiased) or "group" (sliced per group, as the official code).</summary>
    public string ChannelSlices { get; init; } = "sum";

    /// <summary>Seed of the initialisation, the data order and the tangents.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>cpu or cuda.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>CPU threads for the GEMM provider and the element-wise loops, for the whole process; 0: the library's default (all usable CPUs).</summary>
    public int Threads { get; init; }

    /// <summary>CUDA: GEMMs on TF32 tensor cores (see <see cref="ContextOptions.Tf32"/>).</summary>
    public bool Tf32 { get; init; }

    /// <summary>Stop after this many steps in total (smoke runs); null: run every epoch.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>How the run is spread over processes: "none" (one process), "data" (data parallel over MPI ranks) or "pipeline" (block pipeline over MPI ranks).</summary>
    public string Parallel { get; init; } = "none";

    /// <summary>Ranks of a parallel run (1 for one process); set by <see cref="Trainer"/>, recorded in config.json.</summary>
    public int Ranks { get; init; } = 1;

    /// <summary>Seconds a rank of a parallel run waits for the others in one exchange before it reports them as failed.</summary>
    public double CommTimeout { get; init; } = 120;

    /// <summary>Batch size of evaluation.</summary>
    public int EvalBatchSize { get; init; } = 500;

    /// <summary>The most CPU threads a run may ask for: more than a few per CPU only adds switching.</summary>
    public static int MaxThreads => ThreadsPerCpuLimit * Environment.ProcessorCount;

    private const int ThreadsPerCpuLimit = 4;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first option that is unknown, not finite or out of range,
    /// with the value as given and the command-line flag that sets it.
    /// </summary>
    public void Validate() => Validate(modelPreset: true);

    /// <summary><see cref="Validate()"/>; <paramref name="modelPreset"/> false skips <see cref="Model"/> (a caller's own model).</summary>
    internal void Validate(bool modelPreset)
    {
        if (modelPreset)
        {
            _ = ModelSpec.Resolve(Model);
        }

        TrainingMethod method = TrainingMethods.Parse(Method);
        if (!LocalLosses.Parse(Loss).Trains(method))
        {
            throw new ArgumentException($"--loss {Loss.Trim()} trains with LG-FG-A or the backprop family (BP, L-BP, LG-BP); --method {method.PaperName()} does not support it.");
        }

        _ = OptimizerSettings.ParseKind(Optimizer);
        _ = LearningRateSchedule.ParseKind(Schedule);
        _ = ParseDevice(Device);
        _ = SlicesChannelsPerGroup(ChannelSlices);
        _ = ParameterInits.Parse(Init);
        Require(Tangents is >= 1 and <= 1024, "--tangents", "an integer from 1 to 1024", Tangents);
        Require(Epochs >= 1, "--epochs", "a positive integer", Epochs);
        Require(BatchSize is >= 1 and <= 1 << 20, "--batch-size", "an integer from 1 to 1048576", BatchSize);
        Require(EvalBatchSize is >= 1 and <= 1 << 20, "eval batch size", "an integer from 1 to 1048576", EvalBatchSize);
        Require(double.IsFinite(LearningRate) && LearningRate > 0, "--lr", "a finite number > 0", LearningRate);
        Require(double.IsFinite(Momentum) && Momentum >= 0 && Momentum < 1, "--momentum", "a number in [0, 1)", Momentum);
        Require(double.IsFinite(WeightDecay) && WeightDecay >= 0, "--weight-decay", "a finite number >= 0", WeightDecay);
        Require(double.IsFinite(WarmupEpochs) && WarmupEpochs >= 0 && WarmupEpochs <= Epochs, "--warmup-epochs", "a number from 0 to --epochs", WarmupEpochs);
        Require(double.IsFinite(HeadLr) && HeadLr >= 0, "--head-lr", "a finite number >= 0", HeadLr);
        Require(double.IsFinite(LastLayerLr) && LastLayerLr >= 0, "--last-layer-lr", "a finite number >= 0", LastLayerLr);
        Require(Threads >= 0, "--threads", "0 (all usable CPUs) or a positive count", Threads);
        Require(MaxSteps is null or >= 1, "--max-steps", "a positive integer", MaxSteps ?? 0);
        ParallelModes.RequireMethodFits(Parallel, method);
        ParallelModes.RequireLossFits(Parallel, LocalLosses.Parse(Loss));
        Require(double.IsFinite(CommTimeout) && CommTimeout > 0, "--comm-timeout", "a finite number of seconds > 0", CommTimeout);
    }

    /// <summary>
    /// These options with names in their canonical spelling (method and model as the paper writes them, the rest lower
    /// case) and the data folder as a full path, so that two spellings of one run compare equal and a run can be
    /// resumed from another working folder. Call after <see cref="Validate()"/>.
    /// </summary>
    public TrainerOptions Normalized() => this with
    {
        Dataset = DatasetCatalog.All.FirstOrDefault(d => string.Equals(d.Name, Dataset.Trim(), StringComparison.OrdinalIgnoreCase))?.Name ?? Dataset.Trim(),
        Model = TryPreset(Model)?.Name ?? Model.Trim(),
        Method = TrainingMethods.Parse(Method).PaperName(),
        Loss = LocalLosses.Parse(Loss).Name(),
        Optimizer = Optimizer.Trim().ToLowerInvariant(),
        Schedule = Schedule.Trim().ToLowerInvariant(),
        ChannelSlices = ChannelSlices.Trim().ToLowerInvariant(),
        Init = ParameterInits.Parse(Init).Name(),
        Device = ParseDevice(Device).ToString().ToLowerInvariant(),
        Parallel = ParallelModes.Parse(Parallel),
        DataDir = DataDir is null ? null : Path.GetFullPath(DataDir),
    };

    /// <summary>
    /// These options with <see cref="Threads"/> at most <see cref="MaxThreads"/>; <paramref name="note"/> says so when
    /// the count was lowered, else null.
    /// </summary>
    public TrainerOptions WithThreadCap(out string? note)
    {
        int capped = CapThreads(Threads, out note);
        return capped == Threads ? this : this with { Threads = capped };
    }

    /// <summary><paramref name="threads"/>, at most <see cref="MaxThreads"/>; <paramref name="note"/> explains a cap.</summary>
    public static int CapThreads(int threads, out string? note)
    {
        note = null;
        if (threads <= MaxThreads)
        {
            return threads;
        }

        note = string.Create(CultureInfo.InvariantCulture,
            $"--threads {threads} is more than {ThreadsPerCpuLimit} per CPU on this machine ({Environment.ProcessorCount} CPUs); using {MaxThreads}.");
        return MaxThreads;
    }

    /// <summary>"group" (true) or "sum" (false), case-insensitive; anything else is an <see cref="ArgumentException"/>.</summary>
    public static bool SlicesChannelsPerGroup(string slices) => slices?.Trim().ToLowerInvariant() switch
    {
        "sum" => false,
        "group" => true,
        _ => throw new ArgumentException($"Unknown channel slicing '{slices}' (--channel-slices); known: sum, group."),
    };

    /// <summary>"cpu" or "cuda" (also "gpu"), case-insensitive; anything else is an <see cref="ArgumentException"/>.</summary>
    public static Backend ParseDevice(string device) => device?.Trim().ToLowerInvariant() switch
    {
        "cpu" => Backend.Cpu,
        "cuda" or "gpu" => Backend.Cuda,
        _ => throw new ArgumentException($"Unknown device '{device}' (--device); known: cpu, cuda."),
    };

    private static LocalMixerConfig? TryPreset(string name)
    {
        try
        {
            return ModelSpec.Resolve(name);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static void Require(bool condition, string flag, string expected, double value)
    {
        if (!condition)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{flag} must be {expected}; got {value:R}."));
        }
    }
}
