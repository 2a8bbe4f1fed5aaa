using ForwardGrad.Checkpoints;
using ForwardGrad.Training;

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
            // Messages written for the user (they name the option or file and the fix) need no type name.
            ArgumentException { ParamName: null } or CheckpointException or RunFolderException or InvalidDataException or FileNotFoundException => exception.Message,
            _ => $"{exception.GetType().Name}: {exception.Message}",
        };
        // Multi-line messages (a list of paths tried, say) become "head: item; item; item".
        var line = new System.Text.StringBuilder();
        foreach (string part in message.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.Length > 0)
            {
                line.Append(line[^1] == ':' ? " " : "; ");
            }

            line.Append(part);
        }

        return line.ToString();
    }
}
