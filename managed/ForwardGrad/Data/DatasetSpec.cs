namespace ForwardGrad.Data;

/// <summary>What the library knows about a named data set: its format, image shape, classes, statistics and how to get it.</summary>
/// <param name="Name">The name used on the command line and as the folder name under the data directory.</param>
/// <param name="Format">The files' format.</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="Channels">Channels per pixel.</param>
/// <param name="ClassCount">Number of classes.</param>
/// <param name="PublishedStats">The standard normalisation values (of the full training set); null when the training set's own statistics are used.</param>
/// <param name="HowToGet">What to do to get the data set, used in the error for a missing one.</param>
/// <param name="SystemFolder">A folder a system package installs the files into, used when no data directory is given.</param>
public sealed record DatasetSpec(
    string Name,
    DatasetFormat Format,
    int Height,
    int Width,
    int Channels,
    int ClassCount,
    ChannelStats? PublishedStats,
    string HowToGet,
    string? SystemFolder = null);
