using System.Reflection;
using System.Runtime.InteropServices;

namespace ForwardGrad.Interop;

/// <summary>
/// Loads libforwardgrad_mpi, the MPI plug-in, from the same places as the core library (see
/// <see cref="NativeLibraryResolver.CandidatePaths"/>), refusing one whose <c>fg_comm_abi_version()</c> differs from
/// <see cref="CommMethods.AbiVersion"/>. A process that never creates a communicator never loads it, nor MPI.
/// </summary>
internal static class CommLibraryResolver
{
    private static readonly Lock Gate = new();
    private static nint _library;

    /// <summary>The plug-in's file name on this operating system.</summary>
    public static string PlatformFileName =>
        OperatingSystem.IsWindows() ? "forwardgrad_mpi.dll"
        : OperatingSystem.IsMacOS() ? "libforwardgrad_mpi.dylib"
        : "libforwardgrad_mpi.so";

    /// <summary>The loaded plug-in; throws <see cref="DllNotFoundException"/> with every path tried and the fix.</summary>
    public static nint Load(Assembly assembly, DllImportSearchPath? searchPath)
    {
        lock (Gate)
        {
            if (_library != 0)
            {
                return _library;
            }

            var tried = new List<string>();
            IReadOnlyList<string> candidates = NativeLibraryResolver.CandidatePaths(
                Environment.GetEnvironmentVariable(NativeLibraryResolver.EnvironmentVariable),
                NativeLibraryResolver.AssemblyDirectory(assembly),
                NativeLibraryResolver.DevelopmentDirectory(assembly),
                PlatformFileName);
            foreach (string path in candidates)
            {
                if (!File.Exists(path))
                {
                    tried.Add($"{path}: not found");
                    continue;
                }

                try
                {
                    return Accept(NativeLibrary.Load(path), path);
                }
                catch (DllNotFoundException exception)
                {
                    tried.Add($"{path}: exists but could not be loaded: {exception.Message.ReplaceLineEndings(" ").Trim()}");
                }
            }

            if (NativeLibrary.TryLoad(CommMethods.LibraryName, assembly, searchPath, out nint systemLibrary))
            {
                return Accept(systemLibrary, $"{CommMethods.LibraryName} (runtime search)");
            }

            throw new DllNotFoundException(
                $"The MPI plug-in {PlatformFileName} could not be loaded, so training across ranks is unavailable. It is built next to "
                + "libforwardgrad when CMake finds MPI (Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin, then ./build.sh build), "
                + $"and needs the MPI runtime (libmpi) at run time. Tried:\n  {string.Join("\n  ", tried)}");
        }
    }

    private static unsafe nint Accept(nint library, string path)
    {
        if (!NativeLibrary.TryGetExport(library, "fg_comm_abi_version", out nint export))
        {
            NativeLibrary.Free(library);
            throw new DllNotFoundException($"{path} is not the ForwardGrad MPI plug-in: it exports no fg_comm_abi_version.");
        }

        int abi = ((delegate* unmanaged<int>)export)();
        if (abi != CommMethods.AbiVersion)
        {
            NativeLibrary.Free(library);
            throw new DllNotFoundException(
                $"{path} has comm ABI version {abi}, but these bindings were built for version {CommMethods.AbiVersion}; rebuild the plug-in and the managed projects from the same source tree.");
        }

        _library = library;
        return library;
    }
}
