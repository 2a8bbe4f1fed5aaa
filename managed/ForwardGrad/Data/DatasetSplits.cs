namespace ForwardGrad.Data;

/// <summary>A named data set loaded into memory: its training and test images.</summary>
public sealed class DatasetSplits
{
    private ChannelStats? _normalization;

    /// <summary>Creates the pair.</summary>
    public DatasetSplits(DatasetSpec spec, string folder, ImageDataset train, ImageDataset test)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        Folder = folder ?? throw new ArgumentNullException(nameof(folder));
        Train = train ?? throw new ArgumentNullException(nameof(train));
        Test = test ?? throw new ArgumentNullException(nameof(test));
    }

    /// <summary>What the data set is.</summary>
    public DatasetSpec Spec { get; }

    /// <summary>Where its files were read from.</summary>
    public string Folder { get; }

    /// <summary>The training images.</summary>
    public ImageDataset Train { get; }

    /// <summary>The test images.</summary>
    public ImageDataset Test { get; }

    /// <summary>
    /// The statistics to normalise with: the spec's published values when it has them, otherwise the
    /// training set's own (computed once, exactly).
    /// </summary>
    public ChannelStats Normalization => _normalization ??= Spec.PublishedStats ?? Train.ComputeStats();
}
