namespace ForwardGrad.Optim;

/// <summary>The shape of the learning rate after warmup.</summary>
public enum ScheduleKind
{
    /// <summary>Constant.</summary>
    Constant,

    /// <summary>Linear decay to 0 at the last step.</summary>
    Linear,

    /// <summary>Half-cosine decay to 0 at the last step.</summary>
    Cosine,
}

/// <summary>
/// Learning rate per (0-based) step: linear warmup from base/warmup to base over <see cref="WarmupSteps"/>
/// steps, then constant, linear or cosine decay over the remaining steps.
/// </summary>
/// <param name="Kind">Decay shape.</param>
/// <param name="BaseLearningRate">Peak learning rate.</param>
/// <param name="TotalSteps">Steps in the whole run.</param>
/// <param name="WarmupSteps">Warmup steps.</param>
public sealed record LearningRateSchedule(ScheduleKind Kind, double BaseLearningRate, long TotalSteps, long WarmupSteps = 0)
{
    /// <summary>Parses "constant", "linear" or "cosine".</summary>
    public static ScheduleKind ParseKind(string text) => text.Trim().ToLowerInvariant() switch
    {
        "constant" or "const" or "none" => ScheduleKind.Constant,
        "linear" => ScheduleKind.Linear,
        "cosine" or "cos" => ScheduleKind.Cosine,
        _ => throw new ArgumentException($"Unknown schedule '{text}'; known: constant, linear, cosine.", nameof(text)),
    };

    /// <summary>The learning rate of 0-based step <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (step < WarmupSteps)
        {
            return BaseLearningRate * (step + 1) / WarmupSteps;
        }

        long decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        return Kind switch
        {
            ScheduleKind.Constant => BaseLearningRate,
            ScheduleKind.Linear => BaseLearningRate * (1 - progress),
            ScheduleKind.Cosine => BaseLearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => throw new InvalidOperationException(),
        };
    }
}
