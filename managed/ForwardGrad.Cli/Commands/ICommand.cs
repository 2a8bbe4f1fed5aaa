namespace ForwardGrad.Cli.Commands;

/// <summary>A verb of <c>fgrad</c>: runs with its parsed options and writes to the given output.</summary>
/// <typeparam name="TOptions">The verb's options class (marked with <c>[Verb]</c>).</typeparam>
public interface ICommand<in TOptions>
    where TOptions : CommandOptions
{
    /// <summary>Runs the verb and returns the exit code.</summary>
    int Run(TOptions options, TextWriter output);
}
