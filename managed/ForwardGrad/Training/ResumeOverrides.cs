namespace ForwardGrad.Training;

/// <summary>
/// What a resumed run may change. Where the data lives, the device, the CPU threads, the evaluation batch and the
/// step limit leave the method, the data and the schedule as they were (another device or thread count may round
/// differently in the last bits), and more epochs extend the run; every other option would silently mix two runs
/// in one folder, so a change is refused.
/// </summary>
public static class ResumeOverrides
{
    /// <summary>The config.json names of the options a resume may change.</summary>
    public static IReadOnlySet<string> Allowed { get; } = new HashSet<string> { "data_dir", "device", "threads", "epochs", "max_steps", "eval_batch_size", "parallel", "ranks", "comm_timeout" };

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when <paramref name="requested"/> changes an option of the run recorded as
    /// <paramref name="recorded"/> that a resume may not change, or asks for fewer epochs than recorded.
    /// </summary>
    public static void Check(TrainerOptions recorded, TrainerOptions requested, string runDirectory)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        ArgumentNullException.ThrowIfNull(requested);
        var refused = RunConfig.Differences(recorded, requested).Where(d => !Allowed.Contains(d.Name)).ToList();
        if (refused.Count > 0)
        {
            string list = string.Join(", ", refused.Select(d => $"{d.Name} {d.Was} -> {d.Now}"));
            throw new ArgumentException(
                $"--resume continues the run in {runDirectory} with the settings in its config.json; these would change its results: {list}. " +
                "Start a new run for them (--out NEW, or --overwrite to replace this one). A resume may change only --data-dir, --device, --threads, --parallel (and the number of ranks), --comm-timeout, --max-steps and (to extend it) --epochs.");
        }

        if (requested.Epochs < recorded.Epochs)
        {
            throw new ArgumentException($"--epochs {requested.Epochs} is fewer than the run's {recorded.Epochs}; a resume can only extend a run (use --max-steps to stop it early).");
        }
    }
}
