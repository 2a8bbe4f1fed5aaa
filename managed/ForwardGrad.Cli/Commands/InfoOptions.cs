using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of <c>fgrad info</c>.</summary>
[Verb("info", HelpText = "Show the native library version, its ABI, the backends available here and the CPU GEMM.")]
public sealed class InfoOptions : CommandOptions
{
}
