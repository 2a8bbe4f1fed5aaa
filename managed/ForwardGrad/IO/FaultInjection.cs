using System.Diagnostics;
using System.Globalization;

namespace ForwardGrad.IO;

/// <summary>
/// Kill points for crash tests. With <c>FG_FAULT_KILL_AT=NAME[:N]</c> in the environment the process kills itself
/// (SIGKILL: no finally blocks, no flushing) the N-th time (default 1) it reaches the point called NAME. Without the
/// variable every point is a no-op. <see cref="Points"/> lists the names.
/// </summary>
internal static class FaultInjection
{
    /// <summary>The environment variable that arms a point.</summary>
    public const string Variable = "FG_FAULT_KILL_AT";

    /// <summary>After an optimizer step.</summary>
    public const string AfterStep = "after-step";

    /// <summary>After the end-of-epoch evaluation, before the checkpoint is written.</summary>
    public const string BeforeCheckpoint = "before-checkpoint";

    /// <summary>The checkpoint's temporary file is complete on disk but not yet renamed into place.</summary>
    public static readonly string CheckpointUnrenamed = BeforeRename("checkpoint.safetensors");

    /// <summary>The checkpoint is in place, metrics.csv not yet rewritten.</summary>
    public const string AfterCheckpoint = "after-checkpoint";

    /// <summary>metrics.csv is rewritten, the plot not yet drawn.</summary>
    public const string AfterMetrics = "after-metrics";

    /// <summary>Every point, in the order an epoch reaches them.</summary>
    public static IReadOnlyList<string> Points { get; } = [AfterStep, BeforeCheckpoint, CheckpointUnrenamed, AfterCheckpoint, AfterMetrics];

    /// <summary>The point <see cref="AtomicFile"/> reaches when the temporary file of <paramref name="fileName"/> is complete.</summary>
    public static string BeforeRename(string fileName) => $"rename-{fileName}";

    private static readonly (string Name, int Occurrence)? Armed = Parse(Environment.GetEnvironmentVariable(Variable));
    private static int _reached;

    /// <summary>Marks the point <paramref name="name"/>; kills the process when it is the armed one.</summary>
    public static void Reached(string name)
    {
        if (Armed is not { } armed || armed.Name != name)
        {
            return;
        }

        if (Interlocked.Increment(ref _reached) == armed.Occurrence)
        {
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }

    private static (string, int)? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        int colon = text.LastIndexOf(':');
        return colon < 0 ? (text.Trim(), 1) : (text[..colon].Trim(), int.Parse(text[(colon + 1)..], CultureInfo.InvariantCulture));
    }
}
