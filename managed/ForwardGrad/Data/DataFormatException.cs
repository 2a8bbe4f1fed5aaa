namespace ForwardGrad.Data;

/// <summary>
/// A data file that cannot be used: corrupt, truncated, a wrong magic number, counts that do not match,
/// labels out of range. The message names the file and says what to do about it.
/// </summary>
public sealed class DataFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>.</summary>
    public DataFormatException(string filePath, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }

    internal static DataFormatException For(string filePath, string problem, string? remedy = null, Exception? inner = null)
    {
        string advice = remedy ?? "the file is damaged or is not the expected format: fetch it again or rebuild it";
        return new DataFormatException(filePath, $"{filePath}: {problem}; {advice}.", inner);
    }
}
