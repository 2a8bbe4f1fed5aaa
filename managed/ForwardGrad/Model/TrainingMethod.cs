using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// The training methods: the backprop baselines (BP, L-BP, LG-BP), the forward-gradient estimators with weight (W)
/// or activity (A) perturbation, global (FG) or local-greedy (LG-FG), and the feedback-alignment baselines (FA, L-FA,
/// LG-FA, DFA); valued as the native FG_METHOD_* constants.
/// </summary>
public enum TrainingMethod
{
    /// <summary>BP: exact backprop of the final loss, end to end.</summary>
    BP = NativeConstants.MethodBackprop,

    /// <summary>L-BP: backprop of the sum of all local losses, end to end; the final classifier reads detached features.</summary>
    LBP = NativeConstants.MethodLocalBackprop,

    /// <summary>LG-BP: backprop inside each block of its local loss, stop-gradient between blocks.</summary>
    LGBP = NativeConstants.MethodLocalGreedyBackprop,

    /// <summary>FG-W: weight perturbation, final loss.</summary>
    FGW = NativeConstants.MethodForwardGradientWeights,

    /// <summary>FG-A: activity perturbation, final loss.</summary>
    FGA = NativeConstants.MethodForwardGradientActivities,

    /// <summary>LG-FG-W: weight perturbation, local losses.</summary>
    LGFGW = NativeConstants.MethodLocalGreedyForwardGradientWeights,

    /// <summary>LG-FG-A: activity perturbation, local losses (the paper's method).</summary>
    LGFGA = NativeConstants.MethodLocalGreedyForwardGradientActivities,

    /// <summary>FA: BP's backward pass with fixed random feedback matrices in place of the weights.</summary>
    FA = NativeConstants.MethodFeedbackAlignment,

    /// <summary>L-FA: L-BP's backward pass with fixed random feedback matrices.</summary>
    LFA = NativeConstants.MethodLocalFeedbackAlignment,

    /// <summary>LG-FA: LG-BP's backward pass with fixed random feedback matrices.</summary>
    LGFA = NativeConstants.MethodLocalGreedyFeedbackAlignment,

    /// <summary>DFA: the output error projected to every layer by its own fixed random matrix.</summary>
    DFA = NativeConstants.MethodDirectFeedbackAlignment,
}

/// <summary>Names and properties of <see cref="TrainingMethod"/>.</summary>
public static class TrainingMethods
{
    /// <summary>All methods: the backprop family, the forward-gradient methods, then the feedback-alignment baselines.</summary>
    public static IReadOnlyList<TrainingMethod> All { get; } = Enum.GetValues<TrainingMethod>();

    /// <summary>The methods of the paper's forward-gradient comparison (everything but the feedback-alignment baselines), in paper order.</summary>
    public static IReadOnlyList<TrainingMethod> ForwardGradientComparison { get; } = [.. All.Where(m => !m.UsesFeedback())];

    /// <summary>The paper's name, e.g. "LG-FG-A".</summary>
    public static string PaperName(this TrainingMethod method) => method switch
    {
        TrainingMethod.BP => "BP",
        TrainingMethod.LBP => "L-BP",
        TrainingMethod.LGBP => "LG-BP",
        TrainingMethod.FGW => "FG-W",
        TrainingMethod.FGA => "FG-A",
        TrainingMethod.LGFGW => "LG-FG-W",
        TrainingMethod.LGFGA => "LG-FG-A",
        TrainingMethod.FA => "FA",
        TrainingMethod.LFA => "L-FA",
        TrainingMethod.LGFA => "LG-FA",
        TrainingMethod.DFA => "DFA",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    /// <summary>True for the forward-gradient methods, which use K tangents.</summary>
    public static bool UsesTangents(this TrainingMethod method) =>
        method is TrainingMethod.FGW or TrainingMethod.FGA or TrainingMethod.LGFGW or TrainingMethod.LGFGA;

    /// <summary>True for the feedback-alignment methods, which keep fixed random feedback matrices (saved in checkpoints).</summary>
    public static bool UsesFeedback(this TrainingMethod method) =>
        method is TrainingMethod.FA or TrainingMethod.LFA or TrainingMethod.LGFA or TrainingMethod.DFA;

    /// <summary>Parses "LG-FG-A", "lg-fg-a", "lgfga", "lg_fg_a" and the like.</summary>
    public static TrainingMethod Parse(string text)
    {
        if (TryParse(text, out TrainingMethod method))
        {
            return method;
        }

        throw new ArgumentException(
            $"Unknown training method '{text}'; known: {string.Join(", ", All.Select(m => m.PaperName()))}.", nameof(text));
    }

    /// <summary>Parses a method name without throwing.</summary>
    public static bool TryParse(string? text, out TrainingMethod method)
    {
        method = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string key = new([.. text.Where(char.IsLetter).Select(char.ToUpperInvariant)]);
        foreach (TrainingMethod candidate in All)
        {
            if (candidate.ToString() == key)
            {
                method = candidate;
                return true;
            }
        }

        return false;
    }
}
