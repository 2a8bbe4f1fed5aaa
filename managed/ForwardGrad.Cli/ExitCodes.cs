namespace ForwardGrad.Cli;

/// <summary>Exit codes of <c>fgrad</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command succeeded (or help was shown).</summary>
    public const int Success = 0;

    /// <summary>The command failed.</summary>
    public const int Failure = 1;

    /// <summary>The command line could not be parsed.</summary>
    public const int Usage = 2;
}
