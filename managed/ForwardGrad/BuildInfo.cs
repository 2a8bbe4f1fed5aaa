using System.Reflection;

namespace ForwardGrad;

/// <summary>Which build of the library is running: recorded in checkpoints and run folders.</summary>
public static class BuildInfo
{
    /// <summary>The managed library's version (e.g. "0.1.0").</summary>
    public static string Version { get; } = typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(BuildInfo).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The git commit the library was built from, or null when the build did not know it.</summary>
    public static string? Commit { get; } = typeof(BuildInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "SourceRevisionId" && !string.IsNullOrWhiteSpace(a.Value))?.Value;

    /// <summary>The native library's version string (loads the library).</summary>
    public static string NativeVersion => Backends.LibraryVersion;
}
