using ForwardGrad.Interop;

namespace ForwardGrad.Cli.Commands;

/// <summary>Runs a parsed command and turns failures into one readable line and a non-zero exit code.</summary>
public static class CommandRunner
{
    /// <summary>Runs the command for <paramref name="options"/>; prints "fgrad: error: ..." on failure.</summary>
    public static int Execute(CommandOptions options, TextWriter output, TextWriter error)
    {
        try
        {
            return CommandTable.Run(options, output);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            error.WriteLine(options.Verbose ? $"fgrad: error: {exception}" : $"fgrad: error: {OneLine(exception)}");
            if (!options.Verbose)
            {
                error.WriteLine("(run with --verbose for details)");
            }

            return ExitCodes.Failure;
        }
    }

    private static string OneLine(Exception exception)
    {
        string message = exception switch
        {
            ForwardGradException native => native.Message,
            DllNotFoundException missing => missing.Message,
            _ => $"{exception.GetType().Name}: {exception.Message}",
        };
        return message.ReplaceLineEndings(" ").Trim();
    }
}
