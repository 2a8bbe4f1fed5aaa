using CommandLine;
using CommandLine.Text;
using ForwardGrad.Cli.Commands;

namespace ForwardGrad.Cli;

/// <summary>The <c>fgrad</c> entry point: parses the verb and its options, then dispatches.</summary>
public static class Program
{
    /// <summary>Runs <c>fgrad</c> on the process console.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs <c>fgrad</c> with the given arguments, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    /// <returns>The process exit code: 0 on success, 1 when a command failed, 2 for a usage error.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        using var parser = new Parser(settings =>
        {
            settings.HelpWriter = null;
            settings.CaseInsensitiveEnumValues = true;
        });
        ParserResult<object> result = parser.ParseArguments(args, CommandTable.OptionTypes);
        return result.MapResult(
            options => CommandRunner.Execute((CommandOptions)options, output, error),
            errors => ReportParseResult(result, errors, output, error));
    }

    /// <summary>"fgrad 0.1.0 (commit abc, native library 0.1.0)": the managed and native versions.</summary>
    internal static string VersionLine()
    {
        string native;
        try
        {
            native = $"native library {BuildInfo.NativeVersion}";
        }
        catch (DllNotFoundException)
        {
            native = "native library not found";
        }

        string commit = BuildInfo.Commit is string c ? $"commit {c}, " : "";
        return $"fgrad {BuildInfo.Version} ({commit}{native})";
    }

    private static int ReportParseResult(ParserResult<object> result, IEnumerable<Error> errors, TextWriter output, TextWriter error)
    {
        var list = errors.ToList();
        if (list.Count > 0 && list.All(e => e is VersionRequestedError))
        {
            output.WriteLine(VersionLine());
            return ExitCodes.Success;
        }

        bool helpOnly = list.All(e => e is HelpRequestedError or HelpVerbRequestedError or VersionRequestedError);
        HelpText help = HelpText.AutoBuild(result, text =>
        {
            text.AdditionalNewLineAfterOption = false;
            text.AddDashesToOption = true;
            return HelpText.DefaultParsingErrorsHandler(result, text);
        }, example => example, verbsIndex: true);
        (helpOnly ? output : error).WriteLine(help);
        return helpOnly ? ExitCodes.Success : ExitCodes.Usage;
    }
}
