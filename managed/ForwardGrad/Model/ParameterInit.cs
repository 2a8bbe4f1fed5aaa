using System.Text.Json.Serialization;
using ForwardGrad.Data;

namespace ForwardGrad.Model;

/// <summary>How a new model's parameters are drawn (in checkpoint configs by name: "Official", "PyTorch").</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ParameterInit>))]
public enum ParameterInit
{
    /// <summary>
    /// The official code's: weights N(0, s^2) with s = min(2 / sqrt(fan_in), 0.1), biases 0, final classifier 0
    /// (drawn by the native library from Philox keyed by the seed).
    /// </summary>
    Official = 0,

    /// <summary>
    /// PyTorch's <c>nn.Linear</c> default: every weight and bias, the final classifier's included, uniform in
    /// +-1 / sqrt(fan_in). Its channel layer starts about 3.5 times smaller than <see cref="Official"/>'s; for
    /// comparisons with implementations that use it (docs/RESULTS.md, "BP at 10 epochs").
    /// </summary>
    PyTorch = 1,
}

/// <summary>Parsing, naming and drawing of <see cref="ParameterInit"/>.</summary>
public static class ParameterInits
{
    private static readonly string[] NameTable = ["official", "pytorch"];  // in enum order

    /// <summary>The command-line names, in enum order.</summary>
    public static IReadOnlyList<string> Names => NameTable;

    /// <summary>Parses "official" or "pytorch" (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Another name.</exception>
    public static ParameterInit Parse(string name)
    {
        int index = Array.IndexOf(NameTable, name?.Trim().ToLowerInvariant());
        return index >= 0
            ? (ParameterInit)index
            : throw new ArgumentException($"Unknown parameter initialisation '{name}': use {string.Join(" or ", Names)}.", nameof(name));
    }

    /// <summary>The command-line name of <paramref name="init"/>.</summary>
    public static string Name(this ParameterInit init) => NameTable[(int)init];

    /// <summary>
    /// Redraws every parameter of <paramref name="model"/> uniform in +-1 / sqrt(fan_in) of its layer (a bias takes
    /// its weight's fan_in), from SplitMix64 keyed by (seed, parameter index): the same values on every machine.
    /// </summary>
    internal static void ApplyPyTorch(LocalMixer model, ulong seed)
    {
        var fanIn = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (ModelParameter p in model.Parameters.Where(p => p.IsWeight))
        {
            // (fan_in, fan_out), or (groups, fan_in, fan_out) for the group layer
            fanIn[Layer(p.Name)] = p.Shape.Count == 3 ? p.Shape[1] : p.Shape[0];
        }

        foreach (ModelParameter p in model.Parameters)
        {
            if (!fanIn.TryGetValue(Layer(p.Name), out long fan))
            {
                throw new InvalidOperationException($"{p.Name} has no weight to take its fan-in from.");
            }

            float bound = (float)(1.0 / Math.Sqrt(fan));
            var random = SplitMix64.Keyed(seed, 0x1417, (ulong)p.Index);
            float[] values = new float[p.Elements];
            for (int i = 0; i < values.Length; i++)
            {
                // 24 random bits: u in [0, 1) exactly representable, then [-bound, bound)
                float u = (random.NextUInt64() >> 40) * (1.0f / (1 << 24));
                values[i] = ((2 * u) - 1) * bound;
            }

            p.Upload(values);
        }
    }

    // "block0.channel.weight" and "block0.channel.bias" belong to layer "block0.channel".
    private static string Layer(string name)
    {
        int dot = name.LastIndexOf('.');
        return dot < 0 ? name : name[..dot];
    }
}
