using System.Text.Json.Serialization;
using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>What each block's local loss is (docs/METHOD.md section 2); recorded by name in checkpoints.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LocalLoss>))]
public enum LocalLoss
{
    /// <summary>Supervised: every block head is a classifier trained with the labels.</summary>
    CrossEntropy = NativeConstants.LossCrossEntropy,

    /// <summary>Self-supervised: every block head is a 128-d projection trained to match two views of each image.</summary>
    Contrastive = NativeConstants.LossContrastive,
}

/// <summary>Names of the local losses and the methods that train each.</summary>
public static class LocalLosses
{
    /// <summary>The command-line name: "cross-entropy" or "contrastive".</summary>
    public static string Name(this LocalLoss loss) => loss == LocalLoss.Contrastive ? "contrastive" : "cross-entropy";

    /// <summary>Parses a name (case-insensitive); an <see cref="ArgumentException"/> naming the choices otherwise.</summary>
    public static LocalLoss Parse(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "cross-entropy" or "xent" => LocalLoss.CrossEntropy,
        "contrastive" => LocalLoss.Contrastive,
        _ => throw new ArgumentException($"Unknown loss '{text}' (--loss); known: cross-entropy, contrastive."),
    };

    /// <summary>Whether <paramref name="method"/> trains <paramref name="loss"/> (contrastive: LG-FG-A and the backprop family).</summary>
    public static bool Trains(this LocalLoss loss, TrainingMethod method) =>
        loss == LocalLoss.CrossEntropy || method is TrainingMethod.BP or TrainingMethod.LBP or TrainingMethod.LGBP or TrainingMethod.LGFGA;
}
