using ForwardGrad.Parallel;

namespace ForwardGrad.Tests.Parallel;

/// <summary>Skips a test with the reason when the MPI plug-in or mpirun is not on this machine.</summary>
internal static class MpiAvailability
{
    private static readonly Lazy<string?> PluginProblem = new(() =>
    {
        try
        {
            _ = Communicator.MpiVersion;
            return null;
        }
        catch (DllNotFoundException missing)
        {
            return missing.Message;
        }
    });

    /// <summary>The mpirun (or mpiexec) on PATH, or null.</summary>
    public static string? Launcher { get; } = FindLauncher();

    /// <summary>Ignores the test unless the plug-in loads.</summary>
    public static void RequirePlugin()
    {
        if (PluginProblem.Value is string problem)
        {
            Assert.Ignore($"the MPI plug-in is not available here: {problem}");
        }
    }

    /// <summary>Ignores the test unless the plug-in loads and mpirun exists.</summary>
    public static string RequireLauncher()
    {
        RequirePlugin();
        return Launcher ?? throw new IgnoreException("mpirun is not on PATH (./build.sh deps installs openmpi-bin)");
    }

    private static string? FindLauncher()
    {
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in new[] { "mpirun", "mpiexec" })
            {
                string path = Path.Combine(folder, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }
}
