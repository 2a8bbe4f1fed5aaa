namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad info</c>: what the native library is and what it can use on this machine.</summary>
public sealed class InfoCommand : ICommand<InfoOptions>
{
    /// <inheritdoc />
    public int Run(InfoOptions options, TextWriter output)
    {
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

        using var cpu = Context.Cpu();
        ContextInfo info = cpu.Info;
        output.WriteLine("cpu:");
        output.WriteLine($"  device:       {info.DeviceName}");
        output.WriteLine($"  gemm:         {info.GemmName}");
        output.WriteLine($"  threads:      {(info.Threads == 0 ? "library default" : info.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        output.WriteLine($"  memory:       {FormatBytes(info.FreeMemory)} free of {FormatBytes(info.TotalMemory)}");
        return ExitCodes.Success;
    }

    private static string FormatBytes(ulong bytes) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):F1} GiB");
}
