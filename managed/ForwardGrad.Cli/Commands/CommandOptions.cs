using CommandLine;

namespace ForwardGrad.Cli.Commands;

/// <summary>Options every verb accepts.</summary>
public abstract class CommandOptions
{
    /// <summary>Print full exception details (with stack traces) on failure.</summary>
    [Option("verbose", HelpText = "Show full error details, including stack traces.")]
    public bool Verbose { get; set; }
}
