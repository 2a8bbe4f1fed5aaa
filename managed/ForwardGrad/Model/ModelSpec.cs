using System.Globalization;
using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// Model names as <c>--model</c> takes them: a paper preset ("M/1/16") or a custom LocalMixer written as
/// <c>C=256,G=8,blocks=4,grid=7</c> (channels, groups, blocks, patch grid; optional <c>preln=1</c> and <c>interln=1</c>
/// for the extra LayerNorms). A custom model's image shape and class count come from the data set (see
/// <see cref="LocalMixerConfig.ForData"/>), which also checks that the grid divides the image.
/// </summary>
public static class ModelSpec
{
    private static readonly string[] Required = ["C", "G", "blocks", "grid"];
    private static readonly string[] Optional = ["preln", "interln"];

    /// <summary>The preset called <paramref name="name"/>, or the custom model it spells (see <see cref="ModelSpec"/>).</summary>
    /// <exception cref="ArgumentException">Neither a preset nor a valid spec; the message names the problem and the fix.</exception>
    public static LocalMixerConfig Resolve(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Contains('=', StringComparison.Ordinal))
        {
            return Parse(name);
        }

        try
        {
            return LocalMixerConfig.Preset(name);
        }
        catch (ArgumentException unknown)
        {
            throw new ArgumentException($"{unknown.Message.Replace(" (Parameter 'name')", "", StringComparison.Ordinal)} Or give a custom model as C=256,G=8,blocks=4,grid=7 (--model).");
        }
    }

    /// <summary>The custom model <paramref name="spec"/> spells, on 28x28 single-channel images with 10 classes until adapted to data.</summary>
    public static LocalMixerConfig Parse(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        var values = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (string part in spec.Split(',', StringSplitOptions.TrimEntries))
        {
            string[] pair = part.Split('=', StringSplitOptions.TrimEntries);
            string? key = pair.Length == 2 ? Required.Concat(Optional).FirstOrDefault(k => string.Equals(k, pair[0], StringComparison.OrdinalIgnoreCase)) : null;
            if (key is null)
            {
                throw Problem(spec, $"'{part}' is not KEY=VALUE with a key of {string.Join(", ", Required.Concat(Optional))}");
            }

            if (!int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out int value))
            {
                throw Problem(spec, $"{key} must be a non-negative integer, got '{pair[1]}'");
            }

            if (!values.TryAdd(key, value))
            {
                throw Problem(spec, $"{key} is given twice");
            }
        }

        string[] missing = [.. Required.Where(k => !values.ContainsKey(k))];
        if (missing.Length > 0)
        {
            throw Problem(spec, $"{string.Join(", ", missing)} {(missing.Length == 1 ? "is" : "are")} missing");
        }

        int channels = values["C"], groups = values["G"], blocks = values["blocks"], grid = values["grid"];
        if (channels < 1 || groups < 1 || grid < 1)
        {
            throw Problem(spec, "C, G and grid must be at least 1");
        }

        if (channels % groups != 0)
        {
            throw Problem(spec, $"G={groups} does not divide C={channels}");
        }

        if (blocks < 1 || blocks > NativeConstants.MaxBlocks)
        {
            throw Problem(spec, $"blocks must be from 1 to {NativeConstants.MaxBlocks}, got {blocks}");
        }

        foreach (string flag in Optional)
        {
            if (values.TryGetValue(flag, out int on) && on > 1)
            {
                throw Problem(spec, $"{flag} must be 0 or 1, got {on}");
            }
        }

        bool preLn = values.GetValueOrDefault("preln") == 1, interLn = values.GetValueOrDefault("interln") == 1;
        string name = string.Create(CultureInfo.InvariantCulture, $"C={channels},G={groups},blocks={blocks},grid={grid}")
            + (preLn ? ",preln=1" : "") + (interLn ? ",interln=1" : "");
        return new LocalMixerConfig(name, 28, 28, 1, 10, blocks, grid, channels, groups, preLn, interLn);
    }

    private static ArgumentException Problem(string spec, string problem) =>
        new($"Model '{spec}': {problem}. A custom model is written C=256,G=8,blocks=4,grid=7 (optional preln=1, interln=1); the grid must divide the images' height and width.");
}
