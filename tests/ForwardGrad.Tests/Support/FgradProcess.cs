using System.Diagnostics;

namespace ForwardGrad.Tests.Support;

/// <summary>Runs the fgrad CLI as a child process (for tests that kill it), with the test's own native library.</summary>
internal static class FgradProcess
{
    public static (int ExitCode, string Output, string Error) Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using Process process = Start(environment, args);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"fgrad {string.Join(' ', args)} did not finish in 3 minutes");
        }

        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Starts fgrad with redirected output; the caller waits for it (or kills it) and disposes it.</summary>
    public static Process Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "fgrad.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (Backends.LibraryPath is string library)
        {
            start.Environment["FG_NATIVE_PATH"] = library;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
    }
}
