namespace ForwardGrad.Training;

/// <summary>Everything a training run is made of; serialised as the run's config.json.</summary>
public sealed record TrainerOptions
{
    /// <summary>Data set name (mnist-sample, mnist, fashion-mnist, cifar10).</summary>
    public string Dataset { get; init; } = "mnist-sample";

    /// <summary>Folder holding one folder per data set (null: FG_DATA_DIR or data/).</summary>
    public string? DataDir { get; init; }

    /// <summary>Model preset (S/1/1, M/1/16, M/8/16, L/8/64, L/32/64).</summary>
    public string Model { get; init; } = "M/1/16";

    /// <summary>Training method, paper name.</summary>
    public string Method { get; init; } = "LG-FG-A";

    /// <summary>Tangents K per step (forward-gradient methods).</summary>
    public int Tangents { get; init; } = 1;

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>sgd or adamw.</summary>
    public string Optimizer { get; init; } = "sgd";

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (weights only).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>constant, linear or cosine.</summary>
    public string Schedule { get; init; } = "cosine";

    /// <summary>Warmup length in epochs (may be fractional).</summary>
    public double WarmupEpochs { get; init; } = 1;

    /// <summary>Scale of the block heads' gradients.</summary>
    public double HeadLr { get; init; } = 1.0;

    /// <summary>Scale of the final classifier's gradient in local methods.</summary>
    public double LastLayerLr { get; init; } = 0.1;

    /// <summary>Seed of the initialisation, the data order and the tangents.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>cpu or cuda.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>CPU threads for BLAS and the element-wise loops; 0: the library's default (all usable CPUs).</summary>
    public int Threads { get; init; }

    /// <summary>CUDA: GEMMs on TF32 tensor cores (see <see cref="ContextOptions.Tf32"/>).</summary>
    public bool Tf32 { get; init; }

    /// <summary>Stop after this many steps in total (smoke runs); null: run every epoch.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Batch size of evaluation.</summary>
    public int EvalBatchSize { get; init; } = 500;
}
