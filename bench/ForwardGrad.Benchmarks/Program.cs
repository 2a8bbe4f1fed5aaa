using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ForwardGrad.Model;
using Perfolizer.Horology;

namespace ForwardGrad.Benchmarks;

/// <summary>
/// Runs the managed benchmarks.
/// <list type="bullet">
/// <item><c>--short</c>: every suite (or the suites a following <c>--filter</c> names) with a short in-process
/// job (warm-up 2, 5 iterations of about 100 ms); any other arguments go to <see cref="BenchmarkSwitcher"/>.</item>
/// <item><c>--results FILE</c>: also writes one tab-separated line per benchmark (suite, benchmark, parameters,
/// mean ns, allocated bytes per operation, native benchmark name) for <c>--ratios</c>.</item>
/// <item><c>--alloc-check</c>: after the run (or alone), runs every <see cref="TrainingStepBenchmarks"/> case for a
/// few warm-up and 20 counted steps and prints the managed bytes this thread allocated per step
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>: exact, and blind to the runtime's and BenchmarkDotNet's own
/// background threads, which the in-process memory diagnoser counts); with <c>--results</c> the lines go there too.</item>
/// <item><c>--overhead-check</c>: after the run (or alone), times the S/1/1 step of <see cref="StepOverheadBenchmarks"/>
/// through <see cref="ForwardGrad.Model.LocalMixer"/> and through the raw P/Invoke in turn, 200 pairs per method, and
/// prints the wrapper's overhead; steps taken in turn cancel the machine's drift, which short BenchmarkDotNet jobs
/// (one method after the other) do not. With <c>--results</c> the lines go there too.</item>
/// <item><c>--ratios NATIVE.json[,MORE.json] [MANAGED.tsv]</c>: runs nothing; prints the table of key ratios from a
/// native <c>fg_bench --benchmark_format=json</c> output and a <c>--results</c> file (what <c>./build.sh bench</c> ends with).</item>
/// </list>
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--ratios")
        {
            return RatioTable.Print(args.Length > 1 ? args[1] : null, args.Length > 2 ? args[2] : null);
        }

        string? resultsPath = null;
        int r = Array.IndexOf(args, "--results");
        if (r >= 0)
        {
            resultsPath = r + 1 < args.Length ? args[r + 1] : throw new ArgumentException("--results needs a file name");
            args = [.. args.Take(r), .. args.Skip(r + 2)];
        }

        bool allocCheck = args.Contains("--alloc-check");
        bool overheadCheck = args.Contains("--overhead-check");
        args = [.. args.Where(a => a != "--alloc-check" && a != "--overhead-check")];
        var lines = new List<string>();
        // With a check flag and nothing else, only the checks run.
        if (!((allocCheck || overheadCheck) && args.Length == 0))
        {
            lines.AddRange(ResultLines(RunBenchmarks(args)));
        }

        if (allocCheck)
        {
            lines.AddRange(AllocationCheck());
        }

        if (overheadCheck)
        {
            lines.AddRange(OverheadCheck());
        }

        if (resultsPath is not null)
        {
            File.WriteAllLines(resultsPath, lines);
        }

        return 0;
    }

    private static IEnumerable<Summary> RunBenchmarks(string[] args)
    {
        var switcher = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly);
        if (!args.Contains("--short"))
        {
            return switcher.Run(args);
        }

        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun
                .WithWarmupCount(2)
                .WithIterationCount(5)
                .WithIterationTime(TimeInterval.FromMilliseconds(100))
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithId("Short"))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        string[] rest = [.. args.Where(a => a != "--short")];
        return switcher.Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
    }

    private static IEnumerable<string> AllocationCheck()
    {
        const int Steps = 20;
        Console.WriteLine($"Managed allocation per steady-state step (this thread, {Steps} steps after 3 warm-up steps):");
        foreach (StepCase c in TrainingStepBenchmarks.Cases())
        {
            var bench = new TrainingStepBenchmarks { Case = c };
            bench.Setup();
            try
            {
                bench.Step();
                bench.Step();
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < Steps; i++)
                {
                    bench.Step();
                }

                long bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / Steps;
                Console.WriteLine($"  {c,-20} {bytes,6} B/step");
                yield return string.Join('\t', "AllocCheck", "Step", $"[Case={c}]", "NaN", bytes.ToString(CultureInfo.InvariantCulture), c.NativeName);
            }
            finally
            {
                bench.Cleanup();
            }
        }
    }

    private static IEnumerable<string> OverheadCheck()
    {
        const int Rounds = 200;
        Console.WriteLine($"C# API overhead on an S/1/1 step: the raw P/Invoke, the raw P/Invoke with the batch upload, and LocalMixer in turn ({Rounds} rounds after 5 warm-up rounds):");
        foreach (TrainingMethod method in new[] { TrainingMethod.LGFGA, TrainingMethod.BP })
        {
            var bench = new StepOverheadBenchmarks { Method = method };
            bench.Setup();
            try
            {
                Func<float>[] steps = [bench.Native, bench.NativeWithUpload, bench.Wrapper];
                string[] names = ["Native", "NativeWithUpload", "Wrapper"];
                var ticks = new long[steps.Length];
                for (int round = -5; round < Rounds; round++)
                {
                    for (int j = 0; j < steps.Length; j++)
                    {
                        // Rotate which goes first, so none always follows another.
                        int which = (j + Math.Max(round, 0)) % steps.Length;
                        long t0 = Stopwatch.GetTimestamp();
                        _ = steps[which]();
                        if (round >= 0)
                        {
                            ticks[which] += Stopwatch.GetTimestamp() - t0;
                        }
                    }
                }

                double[] ns = [.. ticks.Select(t => t * 1e9 / Stopwatch.Frequency / Rounds)];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {method,-6} raw {ns[0] / 1e6:F3} ms, raw + upload {ns[1] / 1e6:F3} ms, LocalMixer {ns[2] / 1e6:F3} ms: LocalMixer / raw {100 * (ns[2] / ns[0] - 1):+0.0;-0.0} %, LocalMixer / (raw + upload) {100 * (ns[2] / ns[1] - 1):+0.0;-0.0} %"));
                for (int j = 0; j < steps.Length; j++)
                {
                    yield return string.Join('\t', "OverheadCheck", names[j], $"[Method={method}]", ns[j].ToString("R", CultureInfo.InvariantCulture), "-1", "");
                }
            }
            finally
            {
                bench.Cleanup();
            }
        }
    }

    private static IEnumerable<string> ResultLines(IEnumerable<Summary> summaries)
    {
        foreach (Summary summary in summaries)
        {
            foreach (BenchmarkReport report in summary.Reports)
            {
                var benchmark = report.BenchmarkCase;
                object? parameter = benchmark.Parameters.Items.FirstOrDefault()?.Value;
                string native = parameter is StepCase step ? step.NativeName : "";
                double mean = report.ResultStatistics?.Mean ?? double.NaN;
                long allocated = report.GcStats.GetBytesAllocatedPerOperation(benchmark) ?? -1;
                yield return string.Join('\t',
                    benchmark.Descriptor.Type.Name,
                    benchmark.Descriptor.WorkloadMethod.Name,
                    benchmark.Parameters.DisplayInfo,
                    mean.ToString("R", CultureInfo.InvariantCulture),
                    allocated.ToString(CultureInfo.InvariantCulture),
                    native);
            }
        }
    }
}
