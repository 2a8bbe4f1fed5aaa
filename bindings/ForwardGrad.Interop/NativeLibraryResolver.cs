using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace ForwardGrad.Interop;

/// <summary>
/// Finds and loads the native library for every <c>[LibraryImport]</c> of this assembly. Candidates, in order:
/// the <c>FG_NATIVE_PATH</c> variable (a folder or a file); the assembly folder and <c>runtimes/&lt;rid&gt;/native/</c>
/// under it (where the ForwardGrad.Native package puts the library); in a development build of this repository
/// only, the CMake output folder recorded at build time; then the runtime's own search (the native folders of the
/// app's deps.json, then the system). No folder is derived from where the app happens to sit, so a library planted
/// next to or above an unrelated app is never picked up. A library whose <c>fg_abi_version()</c> differs from
/// <see cref="NativeConstants.AbiVersion"/> is refused.
/// </summary>
internal static class NativeLibraryResolver
{
    /// <summary>The environment variable naming the native library or the folder that holds it.</summary>
    public const string EnvironmentVariable = "FG_NATIVE_PATH";

    /// <summary>The NuGet package that carries the native library.</summary>
    public const string PackageName = "ForwardGrad.Native";

    /// <summary>
    /// The assembly metadata key under which a development build records its CMake library folder
    /// (set by ForwardGrad.Interop.csproj; absent from packed builds).
    /// </summary>
    public const string DevelopmentDirectoryKey = "ForwardGrad.DevelopmentNativeDirectory";

    private static readonly Lock Gate = new();
    private static int _installed;
    private static nint _library;

    /// <summary>The path the native library was loaded from, once loaded.</summary>
    public static string? LoadedPath { get; private set; }

    /// <summary>The library's file name on this operating system.</summary>
    public static string PlatformFileName =>
        OperatingSystem.IsWindows() ? "forwardgrad.dll"
        : OperatingSystem.IsMacOS() ? "libforwardgrad.dylib"
        : "libforwardgrad.so";

    /// <summary>Installs the resolver for this assembly; later calls do nothing.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
        }
    }

    /// <summary>The CMake library folder this assembly was built against, or null in a packed build.</summary>
    public static string? DevelopmentDirectory(Assembly assembly) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == DevelopmentDirectoryKey && !string.IsNullOrWhiteSpace(a.Value))?.Value;

    /// <summary>
    /// The files the resolver tries, in order, before the runtime's own search (no file system access except to
    /// tell whether <paramref name="nativePath"/> is a folder).
    /// </summary>
    /// <param name="nativePath">The value of <see cref="EnvironmentVariable"/>, or <see langword="null"/>.</param>
    /// <param name="assemblyDirectory">The folder of the bindings assembly.</param>
    /// <param name="developmentDirectory">The build folder of a development build, or <see langword="null"/>.</param>
    /// <param name="fileName">The library file name, usually <see cref="PlatformFileName"/>.</param>
    public static IReadOnlyList<string> CandidatePaths(string? nativePath, string assemblyDirectory, string? developmentDirectory, string fileName)
    {
        var paths = new List<string>();
        void Add(string path)
        {
            string full = Path.GetFullPath(path);
            if (!paths.Contains(full))
            {
                paths.Add(full);
            }
        }

        if (!string.IsNullOrWhiteSpace(nativePath))
        {
            if (Directory.Exists(nativePath))
            {
                Add(Path.Combine(nativePath, fileName));
            }
            else
            {
                Add(nativePath);
                if (!LooksLikeLibraryFile(nativePath))
                {
                    Add(Path.Combine(nativePath, fileName));
                }
            }
        }

        if (!string.IsNullOrEmpty(assemblyDirectory))
        {
            Add(Path.Combine(assemblyDirectory, fileName));
            foreach (string rid in RuntimeIdentifiers())
            {
                Add(Path.Combine(assemblyDirectory, "runtimes", rid, "native", fileName));
            }
        }

        if (!string.IsNullOrWhiteSpace(developmentDirectory))
        {
            Add(Path.Combine(developmentDirectory, fileName));
        }

        return paths;
    }

    /// <summary>
    /// The message of a failed load: where the library comes from, every path tried and why each was rejected,
    /// and how to install a missing dependency the loader named.
    /// </summary>
    /// <param name="attempts">Each path tried with the reason it was not used.</param>
    /// <param name="developmentBuild">Whether this is a development build of the repository (then the build command is named too).</param>
    public static string DescribeFailure(IEnumerable<(string Path, string Reason)> attempts, bool developmentBuild)
    {
        var list = attempts.ToList();
        var message = new StringBuilder();
        message.Append("The native library ").Append(PlatformFileName).Append(" could not be loaded. It comes with the ")
            .Append(PackageName).Append(" package (a dependency of the ForwardGrad package): restore the app for a runtime the package ")
            .Append("carries (linux-x64, win-x64), or set ").Append(EnvironmentVariable)
            .Append(" to the library file or the folder that holds it.");
        if (developmentBuild)
        {
            message.Append(" In this repository, build it with ./build.sh build (or build.ps1 build).");
        }

        message.Append(" Tried:");
        foreach (var (path, reason) in list)
        {
            message.Append("\n  ").Append(path).Append(": ").Append(reason);
        }

        if (list.Any(a => a.Reason.Contains("openblas", StringComparison.OrdinalIgnoreCase)))
        {
            message.Append("\nOpenBLAS, which the library was linked against, is not installed here. On Debian or Ubuntu: ")
                .Append("apt-get install libopenblas0 (other systems: the OpenBLAS runtime package).");
        }

        return message.ToString();
    }

    private static IEnumerable<string> RuntimeIdentifiers()
    {
        yield return RuntimeInformation.RuntimeIdentifier;
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string portable = $"{os}-{architecture}";
        if (portable != RuntimeInformation.RuntimeIdentifier)
        {
            yield return portable;
        }
    }

    private static bool LooksLikeLibraryFile(string path)
    {
        string name = Path.GetFileName(path);
        return name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal)
            || name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".dylib", StringComparison.Ordinal);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName == CommMethods.LibraryName)
        {
            return CommLibraryResolver.Load(assembly, searchPath);
        }

        if (libraryName != NativeMethods.LibraryName)
        {
            return 0;
        }

        lock (Gate)
        {
            if (_library != 0)
            {
                return _library;
            }

            var attempts = new List<(string Path, string Reason)>();
            string? developmentDirectory = DevelopmentDirectory(assembly);
            IReadOnlyList<string> candidates = CandidatePaths(
                Environment.GetEnvironmentVariable(EnvironmentVariable),
                AssemblyDirectory(assembly),
                developmentDirectory,
                PlatformFileName);
            foreach (string path in candidates)
            {
                if (!File.Exists(path))
                {
                    attempts.Add((path, "not found"));
                    continue;
                }

                try
                {
                    return Accept(NativeLibrary.Load(path), path);
                }
                catch (Exception exception) when (exception is DllNotFoundException or BadImageFormatException)
                {
                    // The loader's message names the missing dependency (e.g. libopenblas.so.0) or the wrong architecture.
                    attempts.Add((path, "exists but could not be loaded: " + exception.Message.ReplaceLineEndings(" ").Trim()));
                }
            }

            if (NativeLibrary.TryLoad(libraryName, assembly, searchPath, out nint systemLibrary))
            {
                return Accept(systemLibrary, $"{libraryName} (runtime search)");
            }

            attempts.Add(($"{libraryName} (runtime search: the app's deps.json native folders, then LD_LIBRARY_PATH / PATH / DYLD_LIBRARY_PATH)", "not found"));
            throw new DllNotFoundException(DescribeFailure(attempts, developmentDirectory is not null));
        }
    }

    /// <summary>The folder of <paramref name="assembly"/> (the app folder for single-file apps).</summary>
    internal static string AssemblyDirectory(Assembly assembly)
    {
        // Location is empty for single-file apps; the application folder stands in for it there.
#pragma warning disable IL3000
        string location = assembly.Location;
#pragma warning restore IL3000
        return string.IsNullOrEmpty(location) ? AppContext.BaseDirectory : Path.GetDirectoryName(location) ?? AppContext.BaseDirectory;
    }

    private static unsafe nint Accept(nint library, string path)
    {
        if (!NativeLibrary.TryGetExport(library, "fg_abi_version", out nint export))
        {
            NativeLibrary.Free(library);
            throw new DllNotFoundException($"{path} is not the ForwardGrad native library: it exports no fg_abi_version.");
        }

        int abi = ((delegate* unmanaged<int>)export)();
        if (abi != NativeConstants.AbiVersion)
        {
            NativeLibrary.Free(library);
            throw new DllNotFoundException(
                $"{path} has ABI version {abi}, but these bindings were built for ABI version {NativeConstants.AbiVersion}. "
                + $"Use the {PackageName} package of the same version as ForwardGrad, or rebuild the native library and the managed projects from the same source tree.");
        }

        _library = library;
        LoadedPath = path;
        return library;
    }
}
