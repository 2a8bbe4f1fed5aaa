using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace ForwardGrad.Interop;

/// <summary>
/// Finds and loads the native library for every <c>[LibraryImport]</c> of this assembly. Candidates, in order:
/// the <c>FG_NATIVE_PATH</c> variable (a folder or a file), the assembly folder,
/// <c>runtimes/&lt;rid&gt;/native/</c> under it, <c>build/lib/</c> in the folders above the application
/// (a CMake build tree), then the system search. A library whose <c>fg_abi_version()</c> differs from
/// <see cref="NativeConstants.AbiVersion"/> is refused.
/// </summary>
public static class NativeLibraryResolver
{
    /// <summary>The environment variable naming the native library or the folder that holds it.</summary>
    public const string EnvironmentVariable = "FG_NATIVE_PATH";

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

    /// <summary>
    /// The files the resolver tries, in order, for the given inputs (no file system access except to tell
    /// whether <paramref name="nativePath"/> is a folder).
    /// </summary>
    /// <param name="nativePath">The value of <see cref="EnvironmentVariable"/>, or <see langword="null"/>.</param>
    /// <param name="assemblyDirectory">The folder of the bindings assembly.</param>
    /// <param name="baseDirectory">The application folder to walk up from, looking for build/lib.</param>
    /// <param name="fileName">The library file name, usually <see cref="PlatformFileName"/>.</param>
    public static IReadOnlyList<string> CandidatePaths(string? nativePath, string assemblyDirectory, string baseDirectory, string fileName)
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

        for (var folder = string.IsNullOrEmpty(baseDirectory) ? null : new DirectoryInfo(baseDirectory); folder is not null; folder = folder.Parent)
        {
            Add(Path.Combine(folder.FullName, "build", "lib", fileName));
        }

        return paths;
    }

    /// <summary>The message of a failed load: every path tried and why each was rejected.</summary>
    public static string DescribeFailure(IEnumerable<(string Path, string Reason)> attempts)
    {
        var message = new StringBuilder();
        message.Append("The native library ").Append(PlatformFileName).Append(" could not be loaded. Build it with ")
            .Append("'cmake -S . -B build && cmake --build build' (or ./build.sh build), or set ")
            .Append(EnvironmentVariable).Append(" to the library or its folder. Tried:");
        foreach (var (path, reason) in attempts)
        {
            message.Append("\n  ").Append(path).Append(": ").Append(reason);
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
            IReadOnlyList<string> candidates = CandidatePaths(
                Environment.GetEnvironmentVariable(EnvironmentVariable),
                AssemblyDirectory(assembly),
                AppContext.BaseDirectory,
                PlatformFileName);
            foreach (string path in candidates)
            {
                if (!File.Exists(path))
                {
                    attempts.Add((path, "not found"));
                    continue;
                }

                if (!NativeLibrary.TryLoad(path, out nint library))
                {
                    attempts.Add((path, "exists but could not be loaded (missing dependency or wrong architecture?)"));
                    continue;
                }

                return Accept(library, path);
            }

            if (NativeLibrary.TryLoad(libraryName, assembly, searchPath, out nint systemLibrary))
            {
                return Accept(systemLibrary, $"{libraryName} (system search)");
            }

            attempts.Add(($"{libraryName} (system search: LD_LIBRARY_PATH / PATH / DYLD_LIBRARY_PATH)", "not found"));
            throw new DllNotFoundException(DescribeFailure(attempts));
        }
    }

    private static string AssemblyDirectory(Assembly assembly)
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
                + "Rebuild the native library and the managed projects from the same source tree.");
        }

        _library = library;
        LoadedPath = path;
        return library;
    }
}
