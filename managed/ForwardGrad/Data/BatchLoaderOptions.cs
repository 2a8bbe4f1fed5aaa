namespace ForwardGrad.Data;

/// <summary>How a <see cref="BatchLoader"/> orders, transforms and batches a data set.</summary>
public sealed record BatchLoaderOptions
{
    /// <summary>Images per batch.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Visit the images in a new seeded order every epoch (otherwise in data set order).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>The seed of the per-epoch order and of the augmentation.</summary>
    public int Seed { get; init; }

    /// <summary>Leave out the last batch when it would be short.</summary>
    public bool DropLast { get; init; }

    /// <summary>Per-channel statistics to normalise with: (x / 255 - mean_c) / std_c. Null: the data set's own.</summary>
    public ChannelStats? Normalization { get; init; }

    /// <summary>Training augmentation; null for none.</summary>
    public Augmentation? Augmentation { get; init; }

    /// <summary>
    /// Two random views per image for the contrastive loss, or null. A batch then holds 2 x BatchSize images: view 1
    /// of each image, then view 2 of each in the same order, with each label twice. Excludes <see cref="Augmentation"/>.
    /// </summary>
    public ContrastiveViews? Views { get; init; }

    /// <summary>
    /// Batches the background producer may have ready while the consumer holds the current one (at least 1).
    /// The loader allocates Prefetch + 1 batches once and cycles through them.
    /// </summary>
    public int Prefetch { get; init; } = 2;
}
