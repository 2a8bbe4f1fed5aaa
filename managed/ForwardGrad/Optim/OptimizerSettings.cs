namespace ForwardGrad.Optim;

/// <summary>Which update rule an <see cref="Optimizer"/> applies.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum; L2 weight decay added to the gradient of weights.</summary>
    Sgd = 0,

    /// <summary>AdamW: Adam moments with bias correction, decoupled weight decay.</summary>
    AdamW = 1,
}

/// <summary>Hyper-parameters of an <see cref="Optimizer"/> (the learning rate comes per step).</summary>
/// <param name="Kind">SGD or AdamW.</param>
/// <param name="Momentum">SGD momentum.</param>
/// <param name="WeightDecay">Weight decay, weights only.</param>
/// <param name="Beta1">AdamW first-moment decay.</param>
/// <param name="Beta2">AdamW second-moment decay.</param>
/// <param name="Epsilon">AdamW epsilon.</param>
/// <param name="DecoupledSgdDecay">SGD: decoupled decay (p -= lr*wd*p) instead of L2.</param>
public sealed record OptimizerSettings(
    OptimizerKind Kind = OptimizerKind.Sgd,
    float Momentum = 0.9f,
    float WeightDecay = 1e-4f,
    float Beta1 = 0.9f,
    float Beta2 = 0.999f,
    float Epsilon = 1e-8f,
    bool DecoupledSgdDecay = false)
{
    /// <summary>Parses "sgd" or "adamw".</summary>
    public static OptimizerKind ParseKind(string text) => text.Trim().ToLowerInvariant() switch
    {
        "sgd" => OptimizerKind.Sgd,
        "adamw" or "adam" => OptimizerKind.AdamW,
        _ => throw new ArgumentException($"Unknown optimizer '{text}'; known: sgd, adamw.", nameof(text)),
    };
}
