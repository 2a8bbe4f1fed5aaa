namespace ForwardGrad.Tests.Support;

/// <summary>Finds files of the source tree from the test assembly's folder.</summary>
internal static class RepositoryPaths
{
    /// <summary>The C ABI header, found by walking up from the test assembly folder.</summary>
    public static string Header => Find(Path.Combine("native", "include", "forwardgrad.h"));

    /// <summary>Walks up from the test assembly folder until <paramref name="relativePath"/> exists.</summary>
    public static string Find(string relativePath)
    {
        for (var folder = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); folder is not null; folder = folder.Parent)
        {
            string candidate = Path.Combine(folder.FullName, relativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relativePath} not found above {TestContext.CurrentContext.TestDirectory}.");
    }
}
