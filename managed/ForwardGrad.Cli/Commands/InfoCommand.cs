using System.Globalization;
using ForwardGrad.Data;
using ForwardGrad.Model;

namespace ForwardGrad.Cli.Commands;

/// <summary>
/// <c>fgrad info</c>: what the native library is and what it can use on this machine; with <c>--model</c>,
/// the parameter tensors of a preset.
/// </summary>
public sealed class InfoCommand : ICommand<InfoOptions>
{
    /// <inheritdoc />
    public int Run(InfoOptions options, TextWriter output)
    {
        if (options.Model is not null)
        {
            PrintModel(ModelFor(options.Model, options.Dataset), output);
            return ExitCodes.Success;
        }

        if (options.Dataset is not null)
        {
            throw new ArgumentException("--dataset needs --model.");
        }

        string version = Backends.LibraryVersion;
        int abi = Backends.LibraryAbiVersion;
        output.WriteLine($"forwardgrad {version}");
        output.WriteLine($"  library:      {Backends.LibraryPath ?? "(unknown path)"}");
        output.WriteLine($"  ABI version:  {abi} (bindings: {Backends.BindingsAbiVersion})");
        output.WriteLine("backends:");
        foreach (Backend backend in Enum.GetValues<Backend>())
        {
            var (available, reason) = Backends.Probe(backend);
            string name = backend.ToString().ToLowerInvariant();
            if (available)
            {
                output.WriteLine($"  {name}: available");
                continue;
            }

            string[] lines = reason.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            output.WriteLine($"  {name}: not available: {(lines.Length > 0 ? lines[0] : "no reason given")}");
            foreach (string line in lines.Skip(1))
            {
                output.WriteLine($"      {line}");
            }
        }

        GemmProviderInfo gemm = Backends.GemmProvider;
        if (!gemm.Loaded)
        {
            output.WriteLine("cpu:");
            output.WriteLine($"  gemm:         not available: {gemm.Error}");
            return ExitCodes.Failure;
        }

        using var cpu = Context.Cpu();
        ContextInfo info = cpu.Info;
        output.WriteLine("cpu:");
        output.WriteLine($"  device:       {info.DeviceName} ({gemm.CpuIsa})");
        output.WriteLine($"  gemm:         {gemm.Id}: {info.GemmName}, {gemm.Threads} thread{(gemm.Threads == 1 ? "" : "s")}");
        output.WriteLine($"  gemm kernels: {gemm.KernelIsa} on a CPU with {gemm.CpuIsa}");
        if (gemm.Warning.Length > 0)
        {
            output.WriteLine($"  warning:      {gemm.Warning}");
        }

        output.WriteLine($"  threads:      {(info.Threads == 0 ? "library default" : info.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        output.WriteLine($"  memory:       {FormatBytes(info.FreeMemory)} free of {FormatBytes(info.TotalMemory)}");
        return ExitCodes.Success;
    }

    /// <summary>The preset or custom model <paramref name="model"/>, adapted to <paramref name="dataset"/>'s shapes when one is named.</summary>
    internal static LocalMixerConfig ModelFor(string model, string? dataset)
    {
        LocalMixerConfig preset = ModelSpec.Resolve(model);
        if (dataset is null)
        {
            preset.Validate();  // a custom model's grid must divide its default 28x28 images
            return preset;
        }

        if (string.Equals(dataset, "imagenet", StringComparison.OrdinalIgnoreCase))
        {
            return preset.ForData(224, 224, 3, 1000);
        }

        DatasetSpec spec = DatasetCatalog.Get(dataset);
        return preset.ForData(spec.Height, spec.Width, spec.Channels, spec.ClassCount);
    }

    private static void PrintModel(LocalMixerConfig config, TextWriter output)
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, config);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{config.Name} for {config.ImageHeight}x{config.ImageWidth}x{config.ImageChannels} images, {config.Classes} classes: blocks {config.Blocks}, patch grid {config.Grid}x{config.Grid}, channels {config.Channels}, groups {config.Groups}"));
        var rows = model.Parameters
            .Select(p => (p.Name, Shape: string.Join(" x ", p.Shape), Elements: p.Elements.ToString("N0", CultureInfo.InvariantCulture), Kind: p.IsWeight ? "weight" : "bias"))
            .ToList();
        int nameWidth = Math.Max(4, rows.Max(r => r.Name.Length));
        int shapeWidth = Math.Max(5, rows.Max(r => r.Shape.Length));
        int elementsWidth = Math.Max(8, rows.Max(r => r.Elements.Length));
        output.WriteLine($"  {"name".PadRight(nameWidth)}  {"shape".PadRight(shapeWidth)}  {"elements".PadLeft(elementsWidth)}  kind");
        foreach (var row in rows)
        {
            output.WriteLine($"  {row.Name.PadRight(nameWidth)}  {row.Shape.PadRight(shapeWidth)}  {row.Elements.PadLeft(elementsWidth)}  {row.Kind}");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total: {model.ParameterCount:N0} parameters in {rows.Count} tensors"));
    }

    private static string FormatBytes(ulong bytes) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):F1} GiB");
}
