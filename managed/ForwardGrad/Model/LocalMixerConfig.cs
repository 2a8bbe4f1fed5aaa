using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// The architecture of a LocalMixer: image shape, patches, groups, width and depth. The paper presets come from <see cref="Preset"/>;
/// <see cref="ForData"/> adapts the image shape and class count to a data set.
/// </summary>
/// <param name="Name">Preset name such as "M/1/16" (informational).</param>
/// <param name="ImageHeight">Image height in pixels.</param>
/// <param name="ImageWidth">Image width in pixels.</param>
/// <param name="ImageChannels">Image channels.</param>
/// <param name="Classes">Number of classes.</param>
/// <param name="Blocks">Number of blocks.</param>
/// <param name="Grid">Patch grid n (P = n*n patches).</param>
/// <param name="Channels">Channels C.</param>
/// <param name="Groups">Groups G (divides C).</param>
/// <param name="PreLinearLayerNorm">LayerNorm before each linear layer too (per group before the group layer).</param>
/// <param name="InterLayerNorm">LayerNorm per group on a block's output, read only by its local loss.</param>
/// <param name="FinalLayerNorm">LayerNorm over the channels of the patch mean, before the final classifier.</param>
/// <param name="Seed">Initialisation seed.</param>
/// <param name="Loss">The blocks' local losses; contrastive heads are 128-d projections.</param>
/// <param name="Init">How the parameters are drawn from <paramref name="Seed"/>.</param>
public sealed record LocalMixerConfig(
    string Name,
    int ImageHeight,
    int ImageWidth,
    int ImageChannels,
    int Classes,
    int Blocks,
    int Grid,
    int Channels,
    int Groups,
    bool PreLinearLayerNorm = false,
    bool InterLayerNorm = false,
    bool FinalLayerNorm = false,
    ulong Seed = 0,
    LocalLoss Loss = LocalLoss.CrossEntropy,
    ParameterInit Init = ParameterInit.Official)
{
    /// <summary>S/1/1: MNIST, 1 block, grid 1, C 256, G 1.</summary>
    public static LocalMixerConfig S1_1 { get; } = new("S/1/1", 28, 28, 1, 10, 1, 1, 256, 1);

    /// <summary>M/1/16: MNIST, 1 block, grid 1, C 512, G 16.</summary>
    public static LocalMixerConfig M1_16 { get; } = new("M/1/16", 28, 28, 1, 10, 1, 1, 512, 16);

    /// <summary>M/8/16: CIFAR-10, 4 blocks, grid 8, C 512, G 16.</summary>
    public static LocalMixerConfig M8_16 { get; } = new("M/8/16", 32, 32, 3, 10, 4, 8, 512, 16);

    /// <summary>L/8/64: CIFAR-10, 4 blocks, grid 8, C 2048, G 64.</summary>
    public static LocalMixerConfig L8_64 { get; } = new("L/8/64", 32, 32, 3, 10, 4, 8, 2048, 64);

    /// <summary>L/32/64: ImageNet 224px, 4 blocks, grid 32, C 2048, G 64.</summary>
    public static LocalMixerConfig L32_64 { get; } = new("L/32/64", 224, 224, 3, 1000, 4, 32, 2048, 64);

    /// <summary>The presets in paper order.</summary>
    public static IReadOnlyList<LocalMixerConfig> Presets { get; } = [S1_1, M1_16, M8_16, L8_64, L32_64];

    /// <summary>The preset called <paramref name="name"/> ("M/1/16", case-insensitive; "m-1-16" also works).</summary>
    public static LocalMixerConfig Preset(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        string key = name.Trim().Replace('-', '/').Replace('_', '/');
        return Presets.FirstOrDefault(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException(
                $"Unknown model '{name}'; known: {string.Join(", ", Presets.Select(p => p.Name))}.", nameof(name));
    }

    /// <summary>This configuration with the image shape and class count of a data set.</summary>
    public LocalMixerConfig ForData(int height, int width, int channels, int classes)
    {
        var adapted = this with { ImageHeight = height, ImageWidth = width, ImageChannels = channels, Classes = classes };
        adapted.Validate();
        return adapted;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent field.</summary>
    public void Validate()
    {
        if (ImageHeight <= 0 || ImageWidth <= 0 || ImageChannels <= 0 || Classes <= 1 || Blocks < 1 || Grid < 1 || Channels < 1 || Groups < 1)
        {
            throw new ArgumentException($"Model {Name}: every size must be positive (and at least 2 classes).");
        }

        if (ImageHeight % Grid != 0 || ImageWidth % Grid != 0)
        {
            throw new ArgumentException(
                $"Model {Name}: a {Grid}x{Grid} patch grid does not divide {ImageHeight}x{ImageWidth} images; pick a model whose grid divides the image size.");
        }

        if (Channels % Groups != 0)
        {
            throw new ArgumentException($"Model {Name}: groups {Groups} do not divide channels {Channels}.");
        }

        if (Blocks > NativeConstants.MaxBlocks)
        {
            throw new ArgumentException($"Model {Name}: at most {NativeConstants.MaxBlocks} blocks.");
        }
    }

    internal FgMixerConfig ToNative()
    {
        var native = FgMixerConfig.Create();
        native.ImageHeight = ImageHeight;
        native.ImageWidth = ImageWidth;
        native.ImageChannels = ImageChannels;
        native.Classes = Classes;
        native.Blocks = Blocks;
        native.Grid = Grid;
        native.Channels = Channels;
        native.Groups = Groups;
        native.PreLinearLayerNorm = PreLinearLayerNorm ? 1 : 0;
        native.InterLayerNorm = InterLayerNorm ? 1 : 0;
        native.FinalLayerNorm = FinalLayerNorm ? 1 : 0;
        native.Seed = Seed;
        native.LocalLoss = (int)Loss;
        return native;
    }
}
