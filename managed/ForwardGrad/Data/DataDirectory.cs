namespace ForwardGrad.Data;

/// <summary>
/// Where named data sets live: each in a folder named after it under the data directory. The data directory
/// is the one passed in, else the environment variable <c>FG_DATA_DIR</c>, else <c>data/</c> in the repository
/// root (found by walking up to <c>ForwardGradNative.sln</c> from the program and from the current folder),
/// else <c>data/</c> in the current folder.
/// </summary>
public static class DataDirectory
{
    /// <summary>The environment variable that overrides the default data directory.</summary>
    public const string EnvironmentVariable = "FG_DATA_DIR";

    /// <summary>The data directory to use for <paramref name="explicitDirectory"/> (null or empty: the default).</summary>
    public static string Resolve(string? explicitDirectory = null)
    {
        if (!string.IsNullOrWhiteSpace(explicitDirectory))
        {
            return Path.GetFullPath(explicitDirectory);
        }

        string? fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        string? root = FindRepositoryRoot(AppContext.BaseDirectory) ?? FindRepositoryRoot(Environment.CurrentDirectory);
        return Path.Combine(root ?? Environment.CurrentDirectory, "data");
    }

    private static string? FindRepositoryRoot(string start)
    {
        for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "ForwardGradNative.sln")))
            {
                return folder.FullName;
            }
        }

        return null;
    }
}
