using System.Globalization;
using System.Text;

namespace ForwardGrad.Training;

/// <summary>How a run takes its folder.</summary>
public enum RunStart
{
    /// <summary>A new run: refused when the folder already holds one.</summary>
    New,

    /// <summary>Continue the run the folder holds: from its checkpoint, or from step 0 when it stopped before its first one.</summary>
    Resume,

    /// <summary>A new run that first moves the folder's old run files into a replaced-TIMESTAMP subfolder.</summary>
    Overwrite,
}

/// <summary>Thrown when a run folder cannot be taken: another process holds it, or it holds a run that was not meant to be touched.</summary>
public sealed class RunFolderException(string message) : IOException(message);

/// <summary>
/// A run folder held by this process. An advisory lock on <see cref="LockFile"/> (released by the operating system
/// when the process ends, however it ends) keeps out a second writer; <see cref="HolderFile"/> names the holder.
/// Taking the folder removes temporary files a killed writer left behind.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>The file whose lock marks the folder as taken.</summary>
    public const string LockFile = "run.lock";

    /// <summary>The file that names the process holding the lock.</summary>
    public const string HolderFile = "run.holder";

    /// <summary>The files that make a folder hold a run.</summary>
    public static IReadOnlyList<string> RunFiles { get; } = [RunConfig.FileName, MetricsFile.FileName, CheckpointFileName];

    /// <summary>The checkpoint's file name.</summary>
    public const string CheckpointFileName = "checkpoint.safetensors";

    private readonly FileStream _lock;

    private RunFolder(string path, FileStream lockStream)
    {
        Path = path;
        _lock = lockStream;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>The checkpoint path in the folder.</summary>
    public string CheckpointPath => System.IO.Path.Combine(Path, CheckpointFileName);

    /// <summary>True when <paramref name="folder"/> has any of <see cref="RunFiles"/>.</summary>
    public static bool HoldsRun(string folder) => RunFiles.Any(file => File.Exists(System.IO.Path.Combine(folder, file)));

    /// <summary>
    /// Takes <paramref name="folder"/> (creating it) for a run started as <paramref name="start"/>; throws
    /// <see cref="RunFolderException"/> naming the holder when another process has it, when a new run would
    /// replace a run there, or when there is nothing to resume.
    /// </summary>
    public static RunFolder Take(string folder, RunStart start)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (start == RunStart.Resume && !HoldsRun(folder))
        {
            throw new RunFolderException($"{folder} holds no run to resume ({string.Join(", ", RunFiles)} are missing); start one with --out {folder}.");
        }

        Directory.CreateDirectory(folder);
        FileStream lockStream = Lock(folder);
        var taken = new RunFolder(folder, lockStream);
        try
        {
            taken.WriteHolder();
            taken.RemoveStaleTemporaries();
            taken.Prepare(start);
            return taken;
        }
        catch
        {
            taken.Dispose();
            throw;
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(System.IO.Path.Combine(Path, HolderFile));
        }
        catch (IOException)
        {
            // The holder file only informs; a stale one is overwritten by the next holder.
        }

        _lock.Dispose();
    }

    private static FileStream Lock(string folder)
    {
        string path = System.IO.Path.Combine(folder, LockFile);
        try
        {
            // FileShare.None takes an exclusive flock on Unix (LockFileEx-style sharing on Windows).
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            string holder = ReadHolder(folder);
            throw new RunFolderException($"{folder} is in use by another run ({holder}); wait for it to finish or choose another folder.");
        }
    }

    private static string ReadHolder(string folder)
    {
        try
        {
            string text = File.ReadAllText(System.IO.Path.Combine(folder, HolderFile)).Trim();
            return text.Length > 0 ? text : "holder unknown";
        }
        catch (IOException)
        {
            return "holder unknown";
        }
    }

    private void WriteHolder()
    {
        string text = string.Create(CultureInfo.InvariantCulture,
            $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}: {string.Join(' ', Environment.GetCommandLineArgs())}");
        File.WriteAllText(System.IO.Path.Combine(Path, HolderFile), text + Environment.NewLine, Encoding.UTF8);
    }

    /// <summary>Removes the ".NAME.GUID.tmp" files of atomic writes a killed process did not finish.</summary>
    private void RemoveStaleTemporaries()
    {
        foreach (string file in Directory.EnumerateFiles(Path, ".*.tmp"))
        {
            File.Delete(file);
        }
    }

    private void Prepare(RunStart start)
    {
        switch (start)
        {
            case RunStart.New when HoldsRun(Path):
                throw new RunFolderException(
                    $"{Path} already holds a run; continue it with --resume {Path}, replace it with --overwrite (its files are moved to a replaced-TIMESTAMP subfolder), or choose another --out.");
            case RunStart.Overwrite when HoldsRun(Path):
                MoveAside();
                break;
        }
    }

    private void MoveAside()
    {
        string aside = System.IO.Path.Combine(Path, "replaced-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(aside);
        foreach (string file in Directory.EnumerateFiles(Path))
        {
            string name = System.IO.Path.GetFileName(file);
            if (name is not LockFile and not HolderFile)
            {
                File.Move(file, System.IO.Path.Combine(aside, name));
            }
        }
    }
}
