namespace ForwardGrad.Data;

/// <summary>A data set or one of its files is not where it was looked for; the message says how to get it.</summary>
public sealed class DatasetNotFoundException : FileNotFoundException
{
    /// <summary>Creates the exception for the missing <paramref name="filePath"/>.</summary>
    public DatasetNotFoundException(string message, string filePath)
        : base(message, filePath)
    {
    }
}
