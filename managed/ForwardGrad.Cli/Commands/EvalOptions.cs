using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options of <c>fgrad eval</c>.</summary>
[Verb("eval", HelpText = "Evaluate a checkpoint's test error: eval --checkpoint FILE [--dataset NAME] [--data-dir DIR].")]
public sealed class EvalOptions : CheckpointCommandOptions;
