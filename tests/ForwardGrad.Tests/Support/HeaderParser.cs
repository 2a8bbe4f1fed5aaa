using System.Text.RegularExpressions;

namespace ForwardGrad.Tests.Support;

/// <summary>Reads the exported functions, #define constants and structs of forwardgrad.h.</summary>
internal static partial class HeaderParser
{
    /// <summary>Every FG_API function: name and number of parameters.</summary>
    public static IReadOnlyDictionary<string, int> Functions(string header)
    {
        var functions = new Dictionary<string, int>();
        foreach (Match match in FunctionPattern().Matches(StripComments(header)))
        {
            string parameters = match.Groups["parameters"].Value.Trim();
            int count = parameters.Length == 0 || parameters == "void" ? 0 : parameters.Split(',').Length;
            functions.Add(match.Groups["name"].Value, count);
        }

        return functions;
    }

    /// <summary>Every numeric <c>#define FG_...</c> constant.</summary>
    public static IReadOnlyDictionary<string, double> Constants(string header)
    {
        var constants = new Dictionary<string, double>();
        foreach (Match match in DefinePattern().Matches(header))
        {
            constants[match.Groups["name"].Value] = double.Parse(match.Groups["value"].Value.TrimEnd('f'), System.Globalization.CultureInfo.InvariantCulture);
        }

        return constants;
    }

    /// <summary>Every <c>typedef struct fg_x { ... } fg_x;</c>: name and number of members.</summary>
    public static IReadOnlyDictionary<string, int> Structs(string header)
    {
        var structs = new Dictionary<string, int>();
        foreach (Match match in StructPattern().Matches(StripComments(header)))
        {
            int members = match.Groups["body"].Value
                .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Sum(declaration => declaration.Split(',').Length);
            structs.Add(match.Groups["name"].Value, members);
        }

        return structs;
    }

    private static string StripComments(string text) => CommentPattern().Replace(text, " ");

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)]
    private static partial Regex CommentPattern();

    [GeneratedRegex(@"FG_API\s+[^;(]*?\b(?<name>fg_\w+)\s*\((?<parameters>[^)]*)\)\s*;", RegexOptions.Singleline)]
    private static partial Regex FunctionPattern();

    [GeneratedRegex(@"^#define\s+(?<name>FG_\w+)\s+(?<value>-?[0-9][0-9.eE+-]*f?)\b", RegexOptions.Multiline)]
    private static partial Regex DefinePattern();

    [GeneratedRegex(@"typedef\s+struct\s+(?<name>fg_\w+)\s*\{(?<body>[^}]*)\}\s*\k<name>\s*;", RegexOptions.Singleline)]
    private static partial Regex StructPattern();
}
