using System.Globalization;
using ForwardGrad.Training;
using Spectre.Console;

namespace ForwardGrad.Cli.Commands;

/// <summary>
/// Shows a training run on an interactive terminal: a Spectre.Console progress bar (epoch, step, loss,
/// images/s, ETA) with the run's log lines printed above it.
/// </summary>
internal static class LiveTrainingView
{
    /// <summary>True when <paramref name="output"/> is the process console and that is an interactive terminal.</summary>
    public static bool IsAvailable(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="train"/> under a live progress bar and returns its result.</summary>
    public static TrainingResult Run(Func<Action<string>, IProgress<TrainingProgress>, TrainingResult> train)
    {
        IAnsiConsole console = AnsiConsole.Console;
        Progress progress = console.Progress();
        // Four redraws a second are enough for a bar, and its render thread shares the CPUs with training.
        progress.RefreshRate = TimeSpan.FromMilliseconds(250);
        return progress
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask("starting", maxValue: 1);
                // Steps come every few milliseconds; the bar shows one state per redraw, so most need no text.
                var gate = new ProgressGate(100);
                var reporter = new Reporter(p =>
                {
                    if (!gate.Admit(Environment.TickCount64, last: p.Step >= p.Steps))
                    {
                        return;
                    }

                    task.MaxValue = p.Steps;
                    task.Value = p.Step;
                    task.Description = Describe(p);
                });
                TrainingResult result = train(line => console.Write(new Padder(new Text(line), new Padding(0)) { Expand = true }), reporter);
                task.StopTask();
                return result;
            });
    }

    /// <summary>The one-line description of <paramref name="p"/> shown beside the bar.</summary>
    internal static string Describe(TrainingProgress p)
    {
        string eta = p.Eta.TotalHours >= 1 ? p.Eta.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : p.Eta.ToString(@"mm\:ss", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {p.Epoch}/{p.Epochs}  step {p.Batch}/{p.Batches}  loss {p.Loss:F4}  {p.ImagesPerSecond:F0} img/s  ETA {eta}");
    }

    /// <summary>Reports synchronously on the training thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
