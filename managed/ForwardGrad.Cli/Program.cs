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

    private static int ReportParseResult(ParserResult<object> result, IEnumerable<Error> errors, TextWriter output, TextWriter error)
    {
        var list = errors.ToList();
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
