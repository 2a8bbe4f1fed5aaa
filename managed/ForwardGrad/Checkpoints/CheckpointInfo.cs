using System.Globalization;
using System.Text.Json;
using ForwardGrad.Data;

namespace ForwardGrad.Checkpoints;

/// <summary>
/// What every checkpoint says about itself, whoever saves it: the method that trained it, the global step it
/// reached and the normalisation its inputs need (pixel / 255, minus mean, over std, per channel).
/// </summary>
/// <param name="Method">Training method, paper name (e.g. "LG-FG-A"), or any label a caller's own training uses.</param>
/// <param name="Step">Optimizer steps taken to reach these weights.</param>
/// <param name="Normalization">Per-channel statistics the model's inputs are normalised with.</param>
public sealed record CheckpointInfo(string Method, long Step, ChannelStats Normalization)
{
    /// <summary>The metadata keys <see cref="Checkpoint.Save"/> writes itself; extra metadata may not use them.</summary>
    public static IReadOnlySet<string> ReservedKeys { get; } = new HashSet<string>
    {
        "format", "config", "model", "method", "step", "normalization", "library_version", "native_version", "optimizer", "optimizer_step", SafeTensors.ChecksumKey,
    };

    /// <summary>The normalisation as stored in metadata: <c>{"mean":[...],"std":[...]}</c>.</summary>
    public static string FormatNormalization(ChannelStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        return JsonSerializer.Serialize(new NormalizationJson(stats.Mean, stats.Std));
    }

    /// <summary>Parses <see cref="FormatNormalization"/>'s text.</summary>
    public static ChannelStats ParseNormalization(string json)
    {
        NormalizationJson parsed = JsonSerializer.Deserialize<NormalizationJson>(json) ?? throw new FormatException("empty normalization");
        return new ChannelStats(parsed.Mean ?? [], parsed.Std ?? []);
    }

    /// <summary>The step as metadata text.</summary>
    internal string StepText => Step.ToString(CultureInfo.InvariantCulture);

    private sealed record NormalizationJson(
        [property: System.Text.Json.Serialization.JsonPropertyName("mean")] IReadOnlyList<double> Mean,
        [property: System.Text.Json.Serialization.JsonPropertyName("std")] IReadOnlyList<double> Std);
}
